/* The LLaMA model on the device: weights uploaded as stored, a fp16 KV cache, and a forward pass
 * recorded as one command buffer per step (prefill batches through the GEMM, decode through the
 * matrix×vector kernel). Everything is prepared at load: a step only records and submits. */
#ifndef LVK_MODEL_LLAMA_H
#define LVK_MODEL_LLAMA_H
#include "io/ckpt.h"
#include "io/config.h"
#include "ops/argmax.h"
#include "ops/attention.h"
#include "ops/embed.h"
#include "ops/linear.h"
#include "ops/rmsnorm.h"
#include "ops/rope.h"
#include "ops/silu_mul.h"


typedef struct lvk_llama_options {
    uint32_t max_seq;   /* context length: KV cache size; 0 = the config's max_seq_len */
    uint32_t max_batch; /* tokens per prefill step; 0 = 64 */
    bool force;         /* skip the memory check */
    bool progress;      /* progress bar on stderr while uploading */
    bool profile;       /* time every kernel with timestamp queries (lvk_llama_profile) */
    uint32_t matvec_tokens; /* steps of up to this many tokens use matrix×vector (0: the device's choice) */
} lvk_llama_options;

/* GPU time per kind of kernel, summed over the steps run since the last reset. */
typedef enum lvk_prof_kind {
    LVK_PROF_EMBED, LVK_PROF_NORM, LVK_PROF_QKV, LVK_PROF_ROPE, LVK_PROF_KV_STORE, LVK_PROF_ATTENTION,
    LVK_PROF_WO, LVK_PROF_GATE_UP, LVK_PROF_SILU, LVK_PROF_DOWN, LVK_PROF_HEAD, LVK_PROF_SAMPLE, LVK_PROF_COUNT
} lvk_prof_kind;

typedef struct lvk_llama_profile {
    double ms[LVK_PROF_COUNT];
    double record_ms; /* host time spent recording the steps' command buffers */
    double step_ms;   /* wall time of the steps: record, submit, run, wait */
    uint32_t steps;
} lvk_llama_profile;

const char *lvk_prof_kind_name(lvk_prof_kind kind);

typedef struct lvk_llama_layer {
    lvk_weight attn_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3;
    lvk_buffer k_cache, v_cache; /* fp16 [max_seq, n_kv_heads, head_dim] */
    lvk_rmsnorm_op norm1, norm2;
    lvk_linear_op q, k, v, o, gate, up, down;
    lvk_rope_op rope_q, rope_k;
    lvk_kv_store_op kv_store;
    lvk_attention_op attn;
    lvk_silu_mul_op silu;
} lvk_llama_layer;

/* What a forward step leaves to read back. */
typedef enum lvk_llama_output {
    LVK_OUT_ARGMAX, /* the index of the largest logit */
    LVK_OUT_TOPK,   /* the top_k (index, value) pairs, sorted */
    LVK_OUT_LOGITS, /* all vocab_size logits */
} lvk_llama_output;

typedef struct lvk_llama {
    lvk_model_config cfg;
    uint32_t head_dim, kv_dim, max_seq, max_batch, matvec_tokens;
    uint32_t n_past; /* positions held in the KV cache */
    lvk_device *d;
    lvk_kernels k;
    lvk_transfer xfer;
    lvk_arena weights, scratch;
    lvk_weight tok_embed, norm_out, lm_head;
    lvk_llama_layer *layers;
    /* activations: fp32 [max_batch, width] unless noted */
    lvk_buffer ids;                  /* uint32 [max_batch], host-visible */
    lvk_buffer h, x, q, kk, vv, att, g, u;
    lvk_buffer last, last_norm;      /* [1, dim]: the last token's hidden state */
    lvk_buffer logits;               /* [vocab] */
    lvk_buffer result;               /* argmax or top-k pairs */
    lvk_embed_op embed;
    lvk_rmsnorm_op final_norm;
    lvk_matvec_op head;
    lvk_argmax_op argmax;
    lvk_topk_op topk;
    uint32_t top_k;                  /* kk of the prepared top-k op */
    lvk_cmd cmd;
    bool profiling;
    uint8_t prof_kind[1024];         /* kind of the work that ends at each timestamp */
    lvk_llama_profile profile;
    uint64_t weight_bytes;           /* bytes of weights read per token */
    double load_seconds;
} lvk_llama;

/* Bytes the model will need on the device (weights, KV cache, activations), for the memory check. */
uint64_t lvk_llama_device_bytes(const lvk_model_config *cfg, uint32_t max_seq, uint32_t max_batch);

/* Checks the config against the checkpoint, the memory against the device, then uploads. */
bool lvk_llama_load(lvk_llama *m, lvk_device *d, const lvk_model_config *cfg, const lvk_ckpt *ck,
                    const lvk_llama_options *opt, lvk_err *err);
void lvk_llama_destroy(lvk_llama *m);

/* Runs ids[0..n) at positions n_past.. (prefilling in batches of max_batch) and reads back what
 * `what` asks for, about the last token: *argmax, or top_k pairs into idx/val (top_k <= 256), or
 * vocab_size floats into logits. */
typedef struct lvk_llama_result {
    uint32_t argmax;
    uint32_t n_top;
    uint32_t top_idx[LVK_TOPK_MAX];
    float top_val[LVK_TOPK_MAX];
    float *logits; /* caller's buffer of vocab_size floats for LVK_OUT_LOGITS */
} lvk_llama_result;

bool lvk_llama_forward(lvk_llama *m, const int32_t *ids, uint32_t n, lvk_llama_output what, uint32_t top_k,
                       lvk_llama_result *out, lvk_err *err);

/* Forgets the KV cache (a new conversation). */
void lvk_llama_reset(lvk_llama *m);

#endif
