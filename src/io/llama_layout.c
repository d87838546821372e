#include "io/llama_layout.h"

#include <stdio.h>
#include <string.h>

enum { PER_LAYER = 9 };

int lvk_llama_tensor_count(const lvk_model_config *cfg)
{
    return 1 + PER_LAYER * cfg->n_layers + 2;
}

static void spec_set(lvk_tensor_spec *out, const char *name, int n_dims, int64_t d0, int64_t d1)
{
    snprintf(out->name, sizeof out->name, "%s", name);
    out->n_dims = n_dims;
    out->dims[0] = d0;
    out->dims[1] = n_dims > 1 ? d1 : 0;
}

void lvk_llama_tensor_spec(const lvk_model_config *cfg, int index, lvk_tensor_spec *out)
{
    const int64_t dim = cfg->dim, vocab = cfg->vocab_size, ffn = cfg->ffn_dim;
    const int64_t kv_dim = cfg->n_heads > 0 ? dim / cfg->n_heads * cfg->n_kv_heads : 0;
    const int n_layer_tensors = PER_LAYER * cfg->n_layers;
    memset(out, 0, sizeof *out);

    if (index == 0) {
        spec_set(out, "model.tok_embeddings.embedding_weight", 2, vocab, dim);
        return;
    }
    if (index == 1 + n_layer_tensors) {
        spec_set(out, "model.norm_out.weight", 1, dim, 0);
        return;
    }
    if (index == 2 + n_layer_tensors) {
        spec_set(out, "lm_head.weight", 2, vocab, dim);
        return;
    }
    int layer = (index - 1) / PER_LAYER, which = (index - 1) % PER_LAYER;
    /* the feed-forward order is the only difference between the two families' files */
    static const char *const llama2_ffn[3] = {"w1", "w2", "w3"};
    static const char *const llama3_ffn[3] = {"w1", "w3", "w2"};
    const char *const *ffn_order = strcmp(cfg->tokenizer_type, "tiktoken") == 0 ? llama3_ffn : llama2_ffn;
    char name[96];
    switch (which) {
    case 0: case 1: case 2: case 3: {
        static const char *const attn[4] = {"wq", "wk", "wv", "wo"};
        snprintf(name, sizeof name, "model.layers.%d.attention.%s.weight", layer, attn[which]);
        int64_t rows = (which == 1 || which == 2) ? kv_dim : dim;
        spec_set(out, name, 2, rows, dim);
        return;
    }
    case 4: case 5: case 6: {
        const char *w = ffn_order[which - 4];
        snprintf(name, sizeof name, "model.layers.%d.feed_forward.%s.weight", layer, w);
        if (strcmp(w, "w2") == 0)
            spec_set(out, name, 2, dim, ffn);
        else
            spec_set(out, name, 2, ffn, dim);
        return;
    }
    case 7:
        snprintf(name, sizeof name, "model.layers.%d.attention_norm.weight", layer);
        spec_set(out, name, 1, dim, 0);
        return;
    default:
        snprintf(name, sizeof name, "model.layers.%d.ffn_norm.weight", layer);
        spec_set(out, name, 1, dim, 0);
        return;
    }
}
