/* The LLaMA model on the device, in three parts that live apart:
 *   weights   (model/weights.h)   uploaded once, read-only, shared by everything below;
 *   sequences (model/sequence.h)  a KV cache and its position each, as many as memory allows, made and
 *                                 freed while the weights stay loaded;
 *   the step plan (here)          activations for a batch of up to max_batch tokens, the prepared ops, and
 *                                 command buffers recorded per batch shape and replayed: positions and ids
 *                                 are read from device buffers, so a decode step is recorded once.
 * A step carries tokens of up to LVK_STEP_MAX_SEQS sequences: the projections run once over all of them,
 * attention per sequence over its own cache. */
#ifndef LVK_MODEL_LLAMA_H
#define LVK_MODEL_LLAMA_H
#include "io/ckpt.h"
#include "io/config.h"
#include "model/memory_plan.h"
#include "model/weights.h"
#include "ops/argmax.h"
#include "ops/attention.h"
#include "ops/embed.h"
#include "ops/linear.h"
#include "ops/rmsnorm.h"
#include "ops/rope.h"
#include "ops/silu_mul.h"

/* Sequences one step can carry (the lm_head runs once over their last tokens: matrix×vector's limit). */
#define LVK_STEP_MAX_SEQS 8
/* Recorded steps kept for replay (least recently used goes first). */
#define LVK_STEP_CACHE 8

typedef struct lvk_llama_options {
    uint32_t max_seq;       /* context length of a sequence's KV cache; 0 = the config's max_seq_len */
    uint32_t max_batch;     /* tokens per step; 0 = 64 */
    uint32_t max_sequences; /* sequences the memory check counts (each its own KV cache); 0 = 1 */
    bool force;             /* skip the memory check */
    bool progress;          /* progress bar on stderr while uploading */
    bool profile;           /* time every kernel with timestamp queries (lvk_llama_profile) */
    uint32_t matvec_tokens; /* steps of up to this many tokens use matrix×vector (0: the device's choice) */
    lvk_weights_choice weights; /* --weights (model/memory_plan.h); 0: auto */
    uint64_t vram;          /* --vram: the device budget to plan for; 0: the device's own */
    bool spill;             /* whole layers may go to host memory when nothing else fits */
} lvk_llama_options;

/* GPU time per kind of kernel, summed over the steps run since the last reset. */
typedef enum lvk_prof_kind {
    LVK_PROF_EMBED, LVK_PROF_NORM, LVK_PROF_QKV, LVK_PROF_ROPE, LVK_PROF_KV_STORE, LVK_PROF_ATTENTION,
    LVK_PROF_WO, LVK_PROF_GATE_UP, LVK_PROF_SILU, LVK_PROF_DOWN, LVK_PROF_HEAD, LVK_PROF_SAMPLE, LVK_PROF_COUNT
} lvk_prof_kind;

typedef struct lvk_llama_profile {
    double ms[LVK_PROF_COUNT];
    double record_ms;    /* host time spent recording command buffers (0 for a replayed step) */
    double step_ms;      /* wall time of the steps: write ids, record or replay, submit, run, wait */
    uint64_t dispatches; /* dispatches submitted */
    uint32_t steps, recorded;
} lvk_llama_profile;

const char *lvk_prof_kind_name(lvk_prof_kind kind);

/* What a step leaves to read back about a sequence's last token. */
typedef enum lvk_llama_output {
    LVK_OUT_NONE,   /* nothing (a prompt chunk before the last) */
    LVK_OUT_ARGMAX, /* the index of the largest logit */
    LVK_OUT_TOPK,   /* the top_k (index, value) pairs, sorted */
    LVK_OUT_LOGITS, /* all vocab_size logits */
} lvk_llama_output;

typedef struct lvk_llama_result {
    uint32_t argmax;
    uint32_t n_top;
    uint32_t top_idx[LVK_TOPK_MAX];
    float top_val[LVK_TOPK_MAX];
    float *logits; /* caller's buffer of vocab_size floats for LVK_OUT_LOGITS */
} lvk_llama_result;

typedef struct lvk_sequence lvk_sequence;

/* One sequence's part of a step: n tokens appended at its position. */
typedef struct lvk_step_item {
    lvk_sequence *seq;
    const int32_t *ids;
    uint32_t n;
    lvk_llama_output what;
    uint32_t top_k;       /* for LVK_OUT_TOPK: 1 .. LVK_TOPK_MAX */
    lvk_llama_result *out; /* NULL when what is LVK_OUT_NONE */
} lvk_step_item;

typedef struct lvk_layer_ops {
    lvk_rmsnorm_op norm1, norm2;
    lvk_linear_op q, k, v, o, gate, up, down;
    lvk_rope_op rope_q, rope_k;
    lvk_silu_mul_op silu;
} lvk_layer_ops;

/* A command buffer recorded for one batch shape: which sequences, how many tokens each, what comes back. */
typedef struct lvk_step_shape {
    uint32_t n_items;
    uint64_t seq_id[LVK_STEP_MAX_SEQS];
    uint32_t n_tokens[LVK_STEP_MAX_SEQS];
    uint8_t what[LVK_STEP_MAX_SEQS];
} lvk_step_shape;

typedef struct lvk_recorded_step {
    lvk_step_shape shape;
    lvk_cmd cmd;
    bool valid;
    uint64_t last_used;
    uint32_t n_dispatches;
    uint8_t prof_kind[1024]; /* kind of the work that ends at each timestamp */
} lvk_recorded_step;

/* The activations of the step plan: fp32 [max_batch, width] unless noted (model/plan.c has the table). */
typedef struct lvk_activations {
    lvk_buffer ids, pos;         /* uint32 [max_batch], host-visible: written before each submit */
    lvk_buffer h, x, q, kk, vv, att, g, u;
    lvk_buffer last, last_norm;  /* [LVK_STEP_MAX_SEQS, dim]: each sequence's last hidden state */
    lvk_buffer logits;           /* [LVK_STEP_MAX_SEQS, vocab] */
    lvk_buffer result;           /* [LVK_STEP_MAX_SEQS] argmax or top-k pairs, host-visible */
} lvk_activations;

typedef struct lvk_llama {
    lvk_model_config cfg;
    uint32_t head_dim, kv_dim, max_seq, max_batch, matvec_tokens, top_k;
    lvk_device *d;
    lvk_kernels k;
    lvk_transfer xfer;
    lvk_weights w;
    /* the step plan */
    lvk_activations act;
    lvk_arena scratch;
    lvk_layer_ops *layers;
    lvk_embed_op embed;
    lvk_rmsnorm_op final_norm;
    lvk_linear_op head;
    lvk_argmax_op argmax[LVK_STEP_MAX_SEQS];
    lvk_topk_op topk[LVK_STEP_MAX_SEQS];
    lvk_recorded_step steps[LVK_STEP_CACHE];
    uint64_t step_clock, next_seq_id;
    bool profiling;
    lvk_llama_profile profile;
    uint64_t weight_bytes; /* bytes of weights read per token */
    lvk_weights_choice weights; /* the format the plan chose (never auto) */
    double load_seconds;
} lvk_llama;

/* Bytes the model will need on the device (weights, KV caches of max_sequences sequences, activations). */
uint64_t lvk_llama_device_bytes(const lvk_model_config *cfg, uint32_t max_seq, uint32_t max_batch,
                                uint32_t max_sequences);

/* What the memory plan may use on d: vram when not 0 (--vram), else the device's free memory less a margin
 * (model/memory_plan.h says which memory). source names it for messages. */
void lvk_llama_budget(const lvk_device *d, uint64_t vram, uint64_t *bytes, const char **source);

/* The memory plan for loading ck on d with these options (model/memory_plan.h): false with the numbers when
 * nothing fits; the plan is filled either way (free it with lvk_memory_plan_free). */
bool lvk_llama_plan(const lvk_device *d, const lvk_model_config *cfg, const lvk_ckpt *ck,
                    const lvk_llama_options *opt, lvk_memory_plan *plan, lvk_err *err);

/* Checks the config against the checkpoint, plans the memory (refusing what cannot fit), uploads, prepares. */
bool lvk_llama_load(lvk_llama *m, lvk_device *d, const lvk_model_config *cfg, const lvk_ckpt *ck,
                    const lvk_llama_options *opt, lvk_err *err);
void lvk_llama_destroy(lvk_llama *m);

/* The one check that n more tokens fit a context of max_seq positions after n_past (err has the numbers). */
bool lvk_context_fits(uint32_t n_past, uint64_t n, uint32_t max_seq, lvk_err *err);

/* One step: every item's tokens at its sequence's position (sum of n <= max_batch, at most
 * LVK_STEP_MAX_SEQS items, each sequence once). Each sequence's position advances by its n. */
bool lvk_llama_step(lvk_llama *m, lvk_step_item *items, uint32_t n_items, lvk_err *err);

/* One sequence: ids[0..n) at its position, in steps of max_batch, and what `what` asks for about the last
 * token (top_k <= LVK_TOPK_MAX). */
bool lvk_llama_forward(lvk_llama *m, lvk_sequence *s, const int32_t *ids, uint32_t n, lvk_llama_output what,
                       uint32_t top_k, lvk_llama_result *out, lvk_err *err);

void lvk_llama_profile_reset(lvk_llama *m);

/* A sequence's own ops of layer l (the cache store and attention over its KV cache), from the same layer
 * description as the rest (for model/sequence.c). */
bool lvk_llama_prepare_sequence_layer(lvk_llama *m, lvk_sequence *s, int l, lvk_err *err);

#endif
