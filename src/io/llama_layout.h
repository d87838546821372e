/* The tensors a LLaMA config implies (DESIGN §2.2): names, dims [out, in], and MindFormers' file
 * order. Validation, the test-model writer and the model loader all take the list from here. */
#ifndef LVK_IO_LLAMA_LAYOUT_H
#define LVK_IO_LLAMA_LAYOUT_H
#include <stdint.h>

#include "io/config.h"

typedef struct lvk_tensor_spec {
    char name[96];
    int n_dims;       /* 1 for norm weights [dim], 2 for the rest */
    int64_t dims[2];  /* [out, in] for linear weights, [vocab, dim] for the embedding */
} lvk_tensor_spec;

/* the embedding, 9 per layer, norm_out and lm_head */
int lvk_llama_tensor_count(const lvk_model_config *cfg);
/* index in [0, count): the embedding, then per layer the attention, ffn and norms, then norm_out, lm_head.
 * LLaMA3 configs (tokenizer "tiktoken") list w1, w3, w2 as MindFormers writes them; LLaMA2 w1, w2, w3. */
void lvk_llama_tensor_spec(const lvk_model_config *cfg, int index, lvk_tensor_spec *out);

#endif
