#version 450
#extension GL_GOOGLE_include_directive : require
// Causal GQA attention over the fp16 KV cache, one workgroup per (key split, q head, tile of TQ query tokens).
//   q   [max_tokens, N_HEADS, HEAD_DIM] fp32; the op's rows are row0 .. row0 + n_tokens - 1; its token t is at
//       position pos0 + t (pos0 = pos[row0], attn_common.glsl) and sees cache rows 0 .. min(pos0 + t, max_seq - 1).
//   k_cache, v_cache [max_seq, N_HEADS / GROUP, HEAD_DIM] fp16 packed two per uint32; q head h reads kv head h / GROUP.
//   SPLIT = 0 (prefill / simple): keys 0 .. last position of the tile, out [max_tokens, N_HEADS, HEAD_DIM] fp32 rows
//            row0 ...
//   SPLIT = 1 (flash-decoding): keys split*chunk .. split*chunk + chunk - 1 only; writes the partial (m, l, acc[HEAD_DIM])
//            of this split to part [n_tokens, N_HEADS, n_splits, 1 + HEAD_DIM/2] vec2 (indexed by the op's own token:
//            every op has its own partials); attn_merge.comp combines them. The dispatch holds max_splits workgroups
//            along x; those at or past n_splits (which depends on the position, read here) leave at once, as a whole
//            workgroup, before any barrier.
// Keys go in blocks of WG (one key per lane for the scores), with an online softmax across blocks:
//   m = running max, l = running sum of exp(s - m), acc = running sum of exp(s - m) * v; all fp32.
// Masked keys get probability exactly 0 (no infinities: the Vulkan spec does not promise they survive exp()).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint TQ = 1;         // query tokens per workgroup
layout(constant_id = 2) const uint HEAD_DIM = 128; // even, <= 256
layout(constant_id = 3) const uint N_HEADS = 32;
layout(constant_id = 4) const uint GROUP = 1;      // N_HEADS / n_kv_heads
layout(constant_id = 5) const uint SPLIT = 0;
layout(constant_id = 6) const uint WPL = 1;        // output words (2 dims) per lane: ceil(HEAD_DIM / 2 / WG)
layout(constant_id = 7) const float SCALE = 0.08838834764831845;

layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer KC { uint k_cache[]; };
layout(std430, binding = 2) readonly buffer VC { uint v_cache[]; };
layout(std430, binding = 3) writeonly buffer O { vec2 o[]; };
#define POS_BINDING 4
#include "attn_common.glsl"

const uint HALF = HEAD_DIM / 2;
const uint KV_ROW = (N_HEADS / GROUP) * HALF; // words per cache row
const float MASKED = -1.0e30;

shared float sq[TQ * HEAD_DIM]; // the tile's queries, pre-scaled
shared float sp[TQ * WG];       // scores of one key block, then their probabilities
shared float sfac[TQ];          // per token: rescale factor of the block, then 1 / l at the end

void main()
{
    uint lane = gl_LocalInvocationID.x;
    uint split = gl_WorkGroupID.x, h = gl_WorkGroupID.y, t0 = gl_WorkGroupID.z * TQ;
    uint kv_off = (h / GROUP) * HALF;
    uint n_tile = min(TQ, p.n_tokens - t0);
    uint pos0 = attn_pos0();
    uint end = min(pos0 + t0 + n_tile, p.max_seq); // the keys the tile needs end before here
    uvec2 cs = SPLIT != 0 ? attn_chunks(attn_ctx()) : uvec2(0, 1);
    if (SPLIT != 0 && split >= cs.y)
        return; // uniform over the workgroup (split is its id): the whole workgroup leaves, no barrier is split

    for (uint i = lane; i < TQ * HEAD_DIM; i += WG) {
        uint t = i / HEAD_DIM, d = i % HEAD_DIM;
        sq[i] = t < n_tile ? q[((p.row0 + t0 + t) * N_HEADS + h) * HEAD_DIM + d] * SCALE : 0.0;
    }
    uint lo = SPLIT != 0 ? split * cs.x : 0;
    uint hi = SPLIT != 0 ? min(lo + cs.x, end) : end; // exclusive

    float m_own = MASKED, l_own = 0.0; // lane t < TQ owns token t's running max and sum
    vec2 acc[TQ * WPL];
    for (uint i = 0; i < TQ * WPL; i++)
        acc[i] = vec2(0.0);
    barrier();

    for (uint kb = lo; kb < hi; kb += WG) {
        uint key = kb + lane;
        float s[TQ];
        for (uint t = 0; t < TQ; t++)
            s[t] = 0.0;
        if (key < hi) {
            uint kbase = key * KV_ROW + kv_off;
            for (uint w = 0; w < HALF; w++) {
                vec2 kv = unpackHalf2x16(k_cache[kbase + w]);
                for (uint t = 0; t < TQ; t++)
                    s[t] += sq[t * HEAD_DIM + 2 * w] * kv.x + sq[t * HEAD_DIM + 2 * w + 1] * kv.y;
            }
        }
        for (uint t = 0; t < TQ; t++)
            sp[t * WG + lane] = (key < hi && key <= pos0 + t0 + t) ? s[t] : MASKED;
        barrier();

        if (lane < TQ) {
            uint t = lane;
            float mb = MASKED;
            for (uint j = 0; j < WG; j++)
                mb = max(mb, sp[t * WG + j]);
            float m_new = max(m_own, mb);
            float sum = 0.0;
            for (uint j = 0; j < WG; j++) {
                float sj = sp[t * WG + j];
                float pj = sj > 0.5 * MASKED ? exp(sj - m_new) : 0.0;
                sp[t * WG + j] = pj;
                sum += pj;
            }
            float corr = exp(m_own - m_new); // 0 when m_own is still MASKED, 1 while nothing is valid yet
            l_own = l_own * corr + sum;
            m_own = m_new;
            sfac[t] = corr;
        }
        barrier();

        for (uint t = 0; t < TQ; t++)
            for (uint wi = 0; wi < WPL; wi++)
                acc[t * WPL + wi] *= sfac[t];
        uint nk = min(WG, hi - kb);
        for (uint j = 0; j < nk; j++) {
            uint vbase = (kb + j) * KV_ROW + kv_off;
            for (uint wi = 0; wi < WPL; wi++) {
                uint w = lane + wi * WG;
                if (w < HALF) {
                    vec2 vv = unpackHalf2x16(v_cache[vbase + w]);
                    for (uint t = 0; t < TQ; t++)
                        acc[t * WPL + wi] += sp[t * WG + j] * vv;
                }
            }
        }
        barrier();
    }

    if (SPLIT != 0) {
        uint tok = t0; // the split path runs one token per workgroup (TQ = 1)
        uint base = ((tok * N_HEADS + h) * cs.y + split) * (HALF + 1);
        if (lane == 0)
            o[base] = vec2(m_own, l_own);
        for (uint wi = 0; wi < WPL; wi++) {
            uint w = lane + wi * WG;
            if (w < HALF)
                o[base + 1 + w] = acc[wi];
        }
        return;
    }
    if (lane < TQ)
        sfac[lane] = l_own > 0.0 ? 1.0 / l_own : 0.0;
    barrier();
    for (uint t = 0; t < n_tile; t++)
        for (uint wi = 0; wi < WPL; wi++) {
            uint w = lane + wi * WG;
            if (w < HALF)
                o[((p.row0 + t0 + t) * N_HEADS + h) * HALF + w] = acc[t * WPL + wi] * sfac[t];
        }
}
