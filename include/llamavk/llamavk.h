/* llama-vk's public C API: what the programs in src/cli/ and tools/ build on. They do not read the model's
 * internals; tests may.
 *
 *   lvk_model_open           config + checkpoint + tokenizer, a Vulkan device, the weights uploaded, the
 *                            checkpoint closed: one call
 *   lvk_model_new_sequence   a conversation: its own KV cache and position, many per model
 *   lvk_model_generate       prompt ids in, text out through a callback; the sequence can go on afterwards
 *   lvk_model_step           one step over the next tokens of several sequences (a server's batch)
 *   lvk_tokenizer_encode     text to ids, and the streaming detokenizer            (io/tokenizer.h)
 *   lvk_instance_create / lvk_device_choose / lvk_device_create   a bare device (vk-selftest, --list-devices)
 *
 * Every fallible call returns bool and fills an lvk_err with a message for the user (base/status.h). */
#ifndef LLAMAVK_LLAMAVK_H
#define LLAMAVK_LLAMAVK_H

#include "base/platform.h"
#include "base/status.h"
#include "io/ckpt.h"
#include "io/config.h"
#include "io/tokenizer.h"
#include "model/generate.h"
#include "model/llama.h"
#include "model/memory_plan.h"
#include "model/model_files.h"
#include "vk/context.h"

typedef struct lvk_model lvk_model;

typedef struct lvk_open_params {
    lvk_model_request files; /* -V / -C / -M / -F / --models / --no-crc */
    const char *device;      /* --device: an index or part of a name; NULL: a discrete GPU, then any */
    uint32_t context;        /* positions per sequence; 0: the config's max_seq_len, at most 4096 */
    uint32_t max_batch;      /* tokens per step; 0: 64 */
    uint32_t max_sequences;  /* sequences the memory check makes room for; 0: 1 */
    lvk_weights_choice weights; /* --weights auto|stored|q8|q4 (model/memory_plan.h); 0: auto */
    uint64_t vram;           /* --vram: plan for this device budget; 0: the device's own */
    bool spill;              /* --spill: whole layers may stay in host memory when nothing else fits */
    bool force;              /* load even if the memory check says it will not fit */
    bool progress;           /* a progress bar while loading */
    bool profile;            /* time every kernel (lvk_model_profile) */
    bool quiet;              /* no information lines on stderr */
    /* Called once the files are open and before anything touches the device (NULL: none), so a program
     * can refuse its input (a prompt too long for the context) before a long load. */
    bool (*before_load)(void *user, const lvk_model_config *cfg, const lvk_tokenizer *tok, uint32_t context,
                        lvk_err *err);
    void *user;
} lvk_open_params;

bool lvk_model_open(lvk_model **out, const lvk_open_params *p, lvk_err *err);

/* The memory plan for p without loading any weights (--plan): the files' shapes and the device's budget.
 * False on a file or device error; a model that does not fit gives true with plan->fits false and the
 * reason in *err. Free the plan with lvk_memory_plan_free. */
bool lvk_model_plan(const lvk_open_params *p, lvk_memory_plan *plan, lvk_err *err);
void lvk_model_close(lvk_model *m); /* safe on NULL */

typedef struct lvk_model_info {
    const lvk_model_config *cfg;
    const lvk_tokenizer *tok;
    const char *ckpt_path;
    int device_index;
    const char *device_name, *driver_name;
    uint32_t context, max_batch;
    uint64_t weight_bytes;
    const char *weights; /* the weights' format: stored, q8, q4 or q4-plain */
    double load_seconds;
} lvk_model_info;

lvk_model_info lvk_model_get_info(const lvk_model *m);

/* A sequence of the model's context length. Reuse sequences (lvk_sequence_reset) rather than making one per
 * request: their descriptor sets go back only when the model closes. */
bool lvk_model_new_sequence(lvk_model *m, lvk_sequence **out, lvk_err *err);
void lvk_model_free_sequence(lvk_model *m, lvk_sequence *s);

bool lvk_model_generate(lvk_model *m, lvk_sequence *s, const int32_t *prompt, size_t n_prompt,
                        const lvk_generate_params *p, lvk_text_callback on_text, void *user, lvk_generate_result *out,
                        lvk_err *err);
bool lvk_model_step(lvk_model *m, lvk_step_item *items, uint32_t n_items, lvk_err *err);
/* One sequence's tokens in as many steps as the batch needs, and `what` about the last one. */
bool lvk_model_forward(lvk_model *m, lvk_sequence *s, const int32_t *ids, uint32_t n, lvk_llama_output what,
                       uint32_t top_k, lvk_llama_result *out, lvk_err *err);

const lvk_llama_profile *lvk_model_profile(const lvk_model *m);
void lvk_model_profile_reset(lvk_model *m);
/* The device the model runs on, for yardsticks measured beside it (llama-vk-bench's bandwidths). */
lvk_device *lvk_model_device(lvk_model *m);

#endif
