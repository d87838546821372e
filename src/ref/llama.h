/* CPU reference forward pass of a whole LLaMA model (DESIGN §2.3): the oracle every GPU result is
 * checked against, itself checked against HuggingFace transformers (tests/test_ref_llama.c).
 *
 * Precision: every dot product is accumulated in double, every activation (hidden state, q/k/v,
 * attention scores, softmax, ffn) is held in double, and the KV cache holds doubles. Weights are used
 * exactly as stored (fp16/bf16/fp32 converted exactly to double), read row by row from the mapped
 * checkpoint: no fp32 copy of the model is made. Memory is the KV cache
 * (2 * n_layers * max_seq * kv_dim * 8 bytes) plus scratch for the tokens of one forward call.
 *
 * With lvk_ref_llama_set_fp16_kv(m, true) every K and V value is rounded to fp16 (through fp32,
 * round to nearest even) as it enters the cache, as the GPU's fp16 cache does, so GPU-vs-reference
 * comparisons can be tight. */
#ifndef LVK_REF_LLAMA_H
#define LVK_REF_LLAMA_H
#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "io/ckpt.h"
#include "io/config.h"

typedef struct lvk_ref_llama lvk_ref_llama;

/* Checks the checkpoint against cfg (every tensor present with the config's dims and a float dtype)
 * and allocates a KV cache for max_seq positions. ck must stay open while the model is used. */
bool lvk_ref_llama_create(lvk_ref_llama **out, const lvk_model_config *cfg, const lvk_ckpt *ck, uint32_t max_seq,
                          lvk_err *err);
void lvk_ref_llama_free(lvk_ref_llama *m);

/* Runs tokens ids[0..n) at positions pos0, pos0 + 1, ...; their K and V are written into the cache at
 * those positions and each token attends to positions 0..its own. pos0 may be at most the number of
 * positions already cached (a smaller pos0 forgets the positions from pos0 on); pos0 + n must not
 * exceed max_seq. Writes the logits of the LAST token into logits[vocab], or of every token into
 * logits[n * vocab] when all_logits is true. On error the cache keeps only positions before pos0. */
bool lvk_ref_llama_forward(lvk_ref_llama *m, const int32_t *ids, uint32_t n, uint32_t pos0, bool all_logits,
                           float *logits, lvk_err *err);

/* Empties the KV cache. */
void lvk_ref_llama_reset(lvk_ref_llama *m);

/* The number of positions in the KV cache. */
uint32_t lvk_ref_llama_cached(const lvk_ref_llama *m);

/* Round K and V through fp16 as they enter the cache (off by default). Takes effect for positions
 * written afterwards. */
void lvk_ref_llama_set_fp16_kv(lvk_ref_llama *m, bool on);

#endif
