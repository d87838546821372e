// The words the bandwidth yardsticks write and read back: a hash of the word's index, so that no
// driver can serve the reads from a zero page or a fill value. Its CPU twin is in src/vk/bandwidth.c.
uint lvk_bandwidth_word(uint i)
{
    uint x = (i ^ 0x5bd1e995u) * 0x9e3779b1u;
    return x ^ (x >> 15);
}
