#include "model/sequence.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

uint64_t lvk_sequence_cache_bytes(const lvk_model_config *cfg, uint32_t max_seq)
{
    uint64_t kv_dim = (uint64_t)cfg->dim / (uint64_t)cfg->n_heads * (uint64_t)cfg->n_kv_heads;
    return 2ull * (uint64_t)cfg->n_layers * max_seq * kv_dim * 2;
}

bool lvk_sequence_create(lvk_llama *m, uint32_t max_seq, lvk_sequence **out, lvk_err *err)
{
    *out = NULL;
    if (max_seq == 0)
        max_seq = m->max_seq;
    lvk_sequence *s = lvk_calloc(1, sizeof *s);
    if (!s)
        return lvk_fail(err, "out of host memory");
    s->id = ++m->next_seq_id;
    s->max_seq = max_seq;
    s->pending = -1;
    s->n_layers = m->cfg.n_layers;
    lvk_arena_init(m->d, &s->scratch, LVK_MEM_DEVICE);
    s->k_cache = lvk_calloc((size_t)s->n_layers, sizeof *s->k_cache);
    s->v_cache = lvk_calloc((size_t)s->n_layers, sizeof *s->v_cache);
    s->kv_store = lvk_calloc((size_t)s->n_layers, sizeof *s->kv_store);
    s->attn = lvk_calloc((size_t)s->n_layers, sizeof *s->attn);
    bool ok = s->k_cache && s->v_cache && s->kv_store && s->attn;
    if (!ok)
        lvk_fail(err, "out of host memory");
    uint64_t cache_bytes = (uint64_t)max_seq * m->kv_dim * 2;
    for (int l = 0; ok && l < s->n_layers; l++) {
        ok = lvk_buffer_create(m->d, &s->k_cache[l], cache_bytes, LVK_MEM_DEVICE, err) &&
             lvk_buffer_create(m->d, &s->v_cache[l], cache_bytes, LVK_MEM_DEVICE, err) &&
             lvk_llama_prepare_sequence_layer(m, s, l, err);
        if (!ok)
            lvk_err_prefix(err, "sequence KV cache, layer %d", l);
    }
    if (!ok) {
        lvk_sequence_free(m, s);
        return false;
    }
    *out = s;
    return true;
}

void lvk_sequence_free(lvk_llama *m, lvk_sequence *s)
{
    if (!s)
        return;
    vkDeviceWaitIdle(m->d->dev);
    for (int i = 0; i < LVK_STEP_CACHE; i++) {
        lvk_recorded_step *r = &m->steps[i];
        for (uint32_t j = 0; r->valid && j < r->shape.n_items; j++)
            if (r->shape.seq_id[j] == s->id)
                r->valid = false;
    }
    for (int l = 0; l < s->n_layers; l++) {
        if (s->attn)
            lvk_attention_destroy(&m->k, &s->attn[l]);
        if (s->k_cache)
            lvk_buffer_destroy(m->d, &s->k_cache[l]);
        if (s->v_cache)
            lvk_buffer_destroy(m->d, &s->v_cache[l]);
    }
    lvk_arena_destroy(m->d, &s->scratch);
    free(s->k_cache);
    free(s->v_cache);
    free(s->kv_store);
    free(s->attn);
    free(s);
}

void lvk_sequence_reset(lvk_sequence *s)
{
    s->n_past = 0;
    s->pending = -1;
}
