// Flash-decoding with one invocation per (key chunk, q head, token): the CPU-device path (DESIGN §3.1: no shared memory,
// no barriers, 16-byte loads). Each invocation keeps its head's query and an fp32 accumulator acc[HEAD_DIM] in
// registers and walks its chunk of keys with an online softmax (the accumulator is rescaled only when the running max
// grows), then writes the partial (m, l, acc) that attn_merge.comp combines; the layout is attn_f16.comp's (SPLIT = 1):
//   part [n_tokens, N_HEADS, n_splits, 1 + HEAD_DIM/2] vec2 (the op's own tokens).
// The dispatch holds N_HEADS * max_splits invocations per token; those past N_HEADS * n_splits (n_splits follows from
// the position, attn_common.glsl) return at once.
// With DIRECT (prefill on CPU devices: one invocation per (head, token) has parallelism enough) there is one chunk,
// 0 .. pos0 + token, and the invocation writes out [max_tokens, N_HEADS, HEAD_DIM] fp32 row row0 + token itself.
// Includers define LOAD_K(i) / LOAD_V(i): the i-th 16-byte block (8 fp16) of the cache, and bind k/v at 1 and 2.
//   q [max_tokens, N_HEADS, HEAD_DIM] fp32 (the op's rows row0 ..); k/v cache [max_seq, N_HEADS / GROUP, HEAD_DIM] fp16;
//   HEAD_DIM % 8 == 0.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HEAD_DIM = 128;
layout(constant_id = 2) const uint N_HEADS = 32;
layout(constant_id = 3) const uint GROUP = 1; // N_HEADS / n_kv_heads
layout(constant_id = 4) const uint KB = 4;         // keys scored per step (one max update per step)
layout(constant_id = 5) const float SCALE = 0.08838834764831845;
layout(constant_id = 6) const bool DIRECT = false; // one chunk covering every key: write out = acc / l instead

layout(std430, binding = 0) readonly buffer Q { vec4 q[]; };
layout(std430, binding = 3) writeonly buffer O { vec2 o[]; };
#define POS_BINDING 4
#include "attn_common.glsl"

const uint BLOCKS = HEAD_DIM / 8;               // 16-byte blocks per head row
const uint ROW_BLOCKS = (N_HEADS / GROUP) * BLOCKS; // per cache row

vec4 unpack4(uint a, uint b)
{
    return vec4(unpackHalf2x16(a), unpackHalf2x16(b));
}

void main()
{
    uint inv = gl_GlobalInvocationID.x, tok = gl_GlobalInvocationID.y;
    uvec2 cs = DIRECT ? uvec2(0, 1) : attn_chunks(attn_ctx());
    if (inv >= N_HEADS * cs.y)
        return; // no barriers in this kernel: leaving early is fine
    // Neighbouring lanes take neighbouring heads of one chunk: they read the same cache rows.
    uint h = inv % N_HEADS, split = inv / N_HEADS;
    uint end = min(attn_pos0() + tok + 1, p.max_seq); // this token's keys end before here
    uint lo = DIRECT ? 0 : split * cs.x;
    uint hi = DIRECT ? end : min(lo + cs.x, end);

    vec4 qr[2 * BLOCKS], acc[2 * BLOCKS];
    uint qbase = ((p.row0 + tok) * N_HEADS + h) * (HEAD_DIM / 4);
    for (uint c = 0; c < 2 * BLOCKS; c++) {
        qr[c] = q[qbase + c] * SCALE;
        acc[c] = vec4(0.0);
    }
    float m = -1.0e30, l = 0.0;
    uint off = (h / GROUP) * BLOCKS;
    for (uint j0 = lo; j0 < hi; j0 += KB) {
        float s[KB];
        float mb = m;
        for (uint kk = 0; kk < KB; kk++) {
            uint b = min(j0 + kk, hi - 1) * ROW_BLOCKS + off;
            float d = 0.0;
            for (uint c = 0; c < BLOCKS; c++) {
                uvec4 kw = LOAD_K(b + c);
                d += dot(qr[2 * c], unpack4(kw.x, kw.y)) + dot(qr[2 * c + 1], unpack4(kw.z, kw.w));
            }
            s[kk] = d;
            mb = j0 + kk < hi ? max(mb, d) : mb;
        }
        if (mb > m) {
            float corr = exp(m - mb);
            l *= corr;
            for (uint c = 0; c < 2 * BLOCKS; c++)
                acc[c] *= corr;
            m = mb;
        }
        for (uint kk = 0; kk < KB; kk++) {
            uint b = min(j0 + kk, hi - 1) * ROW_BLOCKS + off;
            float pj = j0 + kk < hi ? exp(s[kk] - m) : 0.0;
            l += pj;
            for (uint c = 0; c < BLOCKS; c++) {
                uvec4 vw = LOAD_V(b + c);
                acc[2 * c] += pj * unpack4(vw.x, vw.y);
                acc[2 * c + 1] += pj * unpack4(vw.z, vw.w);
            }
        }
    }
    if (DIRECT) {
        float inv_l = 1.0 / l; // l >= 1: the key at the running max counts exp(0)
        uint obase = ((p.row0 + tok) * N_HEADS + h) * (HEAD_DIM / 2);
        for (uint c = 0; c < 2 * BLOCKS; c++) {
            o[obase + 2 * c] = acc[c].xy * inv_l;
            o[obase + 2 * c + 1] = acc[c].zw * inv_l;
        }
        return;
    }
    uint base = ((tok * N_HEADS + h) * cs.y + split) * (HEAD_DIM / 2 + 1);
    o[base] = vec2(m, l);
    for (uint c = 0; c < 2 * BLOCKS; c++) {
        o[base + 1 + 2 * c] = acc[c].xy;
        o[base + 2 + 2 * c] = acc[c].zw;
    }
}
