/* The memory plan (DESIGN §3.2): before anything is allocated, which weight format and which context fit
 * the device's budget, where every tensor goes, and what it costs.
 *
 * The budget: --vram SIZE when given (taken as it is: a user who wants headroom gives less); else on a
 * discrete GPU the free device-local memory (heapBudget - heapUsage from VK_EXT_memory_budget, else the
 * heap size) less a margin; on CPU and integrated devices the free system memory less the margin, since
 * their heap size is only a hint. The margin is 1/16 of the budget, at most 1 GiB (llama.cpp keeps 1 GiB).
 *
 * The choice with --weights auto: as stored if it fits with the asked context; else q8; else the context
 * shrinks (by halves, to LVK_PLAN_MIN_CONTEXT at the least, and the plan says so) before q8 drops to q4,
 * which shrinks the context likewise. Nothing fits: refused, with the numbers and what would fit; or with
 * --spill whole layers (the last first) go to host memory, read over the bus every token (the plan gives
 * the cost at LVK_PLAN_BUS_GBPS). */
#ifndef LVK_MODEL_MEMORY_PLAN_H
#define LVK_MODEL_MEMORY_PLAN_H
#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "io/config.h"
#include "io/ckpt.h"
#include "io/llama_layout.h"

#define LVK_PLAN_MIN_CONTEXT 512u
#define LVK_PLAN_BUS_GBPS 25.0 /* PCIe 4.0 x16, what host memory is read at per token */

/* q4-plain: every matrix 4-bit by plain min/max rounding, none kept at more bits; the baseline the q4
 * recipe's quality is measured against (llama-vk-perplexity), never chosen by auto. */
typedef enum lvk_weights_choice {
    LVK_WEIGHTS_AUTO,
    LVK_WEIGHTS_STORED,
    LVK_WEIGHTS_Q8,
    LVK_WEIGHTS_Q4,
    LVK_WEIGHTS_Q4_PLAIN,
} lvk_weights_choice;

bool lvk_weights_choice_from_name(const char *name, lvk_weights_choice *out, lvk_err *err);
const char *lvk_weights_choice_name(lvk_weights_choice c);

/* "8G", "7.5GiB", "512M", "8000000000": G/GiB and M/MiB are binary (2^30, 2^20), as GPU memory is sold. */
bool lvk_parse_size(const char *text, uint64_t *bytes, lvk_err *err);

typedef struct lvk_plan_tensor {
    char name[96];
    const char *format; /* "f16", "bf16", "f32", "q8", "q4" */
    uint64_t bytes;
    bool host; /* spilled: in host memory, read over the bus */
} lvk_plan_tensor;

typedef struct lvk_memory_plan {
    lvk_weights_choice weights; /* chosen, never AUTO */
    bool q4_search;             /* q4 blocks get the searched scale and offset (all but q4-plain) */
    uint32_t context;           /* positions per sequence, after any shrinking */
    uint32_t n_sequences;
    uint64_t weight_bytes;      /* on the device */
    uint64_t host_bytes;        /* spilled to host memory */
    uint64_t kv_bytes, other_bytes, total_bytes; /* total: what the device must hold */
    uint64_t budget_bytes;
    const char *budget_source;
    bool fits;
    int spilled_layers;
    double spill_ms_per_token; /* reading the spilled bytes over the bus, per token */
    char notes[512];           /* what was decided and why, for the user */
    int n_tensors;
    lvk_plan_tensor *tensors;  /* malloc'd */
} lvk_memory_plan;

typedef struct lvk_plan_request {
    const lvk_model_config *cfg;
    lvk_dtype stored;      /* the checkpoint's weight dtype */
    lvk_weights_choice want;
    uint32_t context;      /* asked for */
    uint32_t max_batch;
    uint32_t n_sequences;  /* KV caches to make room for */
    uint64_t budget_bytes; /* from lvk_plan_budget */
    const char *budget_source;
    bool spill;
} lvk_plan_request;

/* The format a tensor of cfg gets under choice c ("f16", "bf16", "f32", "q8", "q4"): 1-D norms stay as
 * stored; q4 keeps lm_head and some layers' wv and w2 at q8 (q4-plain keeps none). */
const char *lvk_plan_tensor_format(const lvk_model_config *cfg, lvk_dtype stored, lvk_weights_choice c,
                                   const lvk_tensor_spec *s);

/* Plans; fails (with the numbers) only when nothing fits and spilling was not asked for. The plan is
 * filled either way (fits false on failure), so --plan can print it. */
bool lvk_memory_plan_make(const lvk_plan_request *r, lvk_memory_plan *plan, lvk_err *err);
void lvk_memory_plan_free(lvk_memory_plan *plan);

#endif
