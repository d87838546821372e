/* The model's weights on the device: uploaded once as stored (fp16/bf16/fp32), read-only, shared by every
 * sequence and step plan. */
#ifndef LVK_MODEL_WEIGHTS_H
#define LVK_MODEL_WEIGHTS_H
#include "io/ckpt.h"
#include "io/config.h"
#include "ops/weight.h"

typedef struct lvk_layer_weights {
    lvk_weight attn_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3;
} lvk_layer_weights;

typedef struct lvk_weights {
    lvk_arena arena;
    lvk_weight tok_embed, norm_out, lm_head;
    lvk_layer_weights *layers; /* [n_layers] */
    int n_layers;
    uint64_t bytes; /* all of them, as uploaded */
} lvk_weights;

/* Device bytes of the weights of this shape at 16 bits per value, for the memory plan. */
uint64_t lvk_weights_plan_bytes(const lvk_model_config *cfg);

/* Creates every tensor of the config on the device and streams it from the mapped checkpoint; the config
 * must have been checked against the checkpoint. A progress bar on stderr when progress is set. */
bool lvk_weights_upload(lvk_weights *w, lvk_device *d, lvk_transfer *xfer, const lvk_model_config *cfg,
                        const lvk_ckpt *ck, bool progress, lvk_err *err);
/* Safe on a zeroed or partly uploaded lvk_weights. */
void lvk_weights_destroy(lvk_device *d, lvk_weights *w);

#endif
