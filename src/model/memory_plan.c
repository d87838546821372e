#include "model/memory_plan.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "io/llama_layout.h"
#include "model/llama.h"
#include "model/sequence.h"
#include "ops/quant_format.h"

bool lvk_weights_choice_from_name(const char *name, lvk_weights_choice *out, lvk_err *err)
{
    for (int i = LVK_WEIGHTS_AUTO; i <= LVK_WEIGHTS_Q4_PLAIN; i++)
        if (!strcmp(name, lvk_weights_choice_name((lvk_weights_choice)i))) {
            *out = (lvk_weights_choice)i;
            return true;
        }
    return lvk_fail(err, "--weights %s: expected auto, stored, q8, q4 or q4-plain", name);
}

const char *lvk_weights_choice_name(lvk_weights_choice c)
{
    switch (c) {
    case LVK_WEIGHTS_AUTO: return "auto";
    case LVK_WEIGHTS_STORED: return "stored";
    case LVK_WEIGHTS_Q8: return "q8";
    case LVK_WEIGHTS_Q4: return "q4";
    case LVK_WEIGHTS_Q4_PLAIN: return "q4-plain";
    }
    return "?";
}

bool lvk_parse_size(const char *text, uint64_t *bytes, lvk_err *err)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (!end || end == text || !(v > 0) || !isfinite(v))
        return lvk_fail(err, "size '%s': expected a number of bytes, or one with G, GiB, M or MiB (8G, 7.5GiB)", text);
    double unit = 1;
    if (!strcmp(end, "G") || !strcmp(end, "GiB") || !strcmp(end, "GB"))
        unit = 1024.0 * 1024.0 * 1024.0;
    else if (!strcmp(end, "M") || !strcmp(end, "MiB") || !strcmp(end, "MB"))
        unit = 1024.0 * 1024.0;
    else if (*end)
        return lvk_fail(err, "size '%s': unknown unit '%s' (G, GiB, M or MiB)", text, end);
    if (v * unit > 1.8e19)
        return lvk_fail(err, "size '%s' is too large", text);
    *bytes = (uint64_t)(v * unit);
    return true;
}

static const char *dtype_format(lvk_dtype d)
{
    return d == LVK_DTYPE_BF16 ? "bf16" : d == LVK_DTYPE_F32 ? "f32" : "f16";
}

/* llama.cpp's Q4_K_M keeps the first and last eighth of the layers' wv and w2, and every third in between,
 * at more bits: they are the most sensitive (DESIGN §3.2). We keep those at q8, and lm_head too. */
static bool q4_keeps_more_bits(int layer, int n_layers)
{
    return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

const char *lvk_plan_tensor_format(const lvk_model_config *cfg, lvk_dtype stored, lvk_weights_choice c,
                                   const lvk_tensor_spec *s)
{
    if (s->n_dims == 1 || c == LVK_WEIGHTS_STORED || c == LVK_WEIGHTS_AUTO)
        return dtype_format(stored);
    if (c == LVK_WEIGHTS_Q8)
        return "q8";
    if (c == LVK_WEIGHTS_Q4_PLAIN)
        return "q4";
    if (!strcmp(s->name, "lm_head.weight"))
        return "q8";
    int layer = -1;
    if (sscanf(s->name, "model.layers.%d.", &layer) == 1 &&
        (strstr(s->name, "attention.wv.") || strstr(s->name, "feed_forward.w2.")) &&
        q4_keeps_more_bits(layer, cfg->n_layers))
        return "q8";
    return "q4";
}

static uint64_t tensor_bytes(const char *format, const lvk_tensor_spec *s)
{
    uint64_t rows = s->n_dims == 1 ? 1 : (uint64_t)s->dims[0];
    uint32_t cols = (uint32_t)(s->n_dims == 1 ? s->dims[0] : s->dims[1]);
    if (!strcmp(format, "q8") || !strcmp(format, "q4")) {
        lvk_quant_format f = format[1] == '8' ? LVK_QUANT_Q8 : LVK_QUANT_Q4;
        return rows * (lvk_quant_row_bytes(f, cols) + lvk_quant_scale_row_bytes(f, cols));
    }
    uint64_t elem = !strcmp(format, "f32") ? 4 : 2;
    return rows * ((cols * elem + 15) / 16 * 16);
}

/* Fills the tensors of a choice; returns the total bytes. */
static uint64_t place_tensors(const lvk_plan_request *r, lvk_weights_choice c, lvk_memory_plan *p)
{
    uint64_t total = 0;
    for (int i = 0; i < p->n_tensors; i++) {
        lvk_tensor_spec s;
        lvk_llama_tensor_spec(r->cfg, i, &s);
        lvk_plan_tensor *t = &p->tensors[i];
        snprintf(t->name, sizeof t->name, "%s", s.name);
        t->format = lvk_plan_tensor_format(r->cfg, r->stored, c, &s);
        t->bytes = tensor_bytes(t->format, &s);
        t->host = false;
        total += t->bytes;
    }
    return total;
}

static void compute_totals(const lvk_plan_request *r, lvk_memory_plan *p)
{
    p->weight_bytes = p->host_bytes = 0;
    for (int i = 0; i < p->n_tensors; i++)
        *(p->tensors[i].host ? &p->host_bytes : &p->weight_bytes) += p->tensors[i].bytes;
    p->kv_bytes = (uint64_t)p->n_sequences * lvk_sequence_cache_bytes(r->cfg, p->context);
    p->other_bytes = lvk_llama_device_bytes(r->cfg, 0, r->max_batch, 0) - lvk_weights_plan_bytes(r->cfg);
    p->total_bytes = p->weight_bytes + p->kv_bytes + p->other_bytes;
    p->fits = p->total_bytes <= p->budget_bytes;
}

/* Tries a choice at the asked context, then (shrink) at halves of it down to the floor. */
static bool try_choice(const lvk_plan_request *r, lvk_weights_choice c, bool shrink, lvk_memory_plan *p)
{
    p->weights = c;
    p->q4_search = c != LVK_WEIGHTS_Q4_PLAIN;
    place_tensors(r, c, p);
    uint32_t floor = r->context < LVK_PLAN_MIN_CONTEXT ? r->context : LVK_PLAN_MIN_CONTEXT;
    for (p->context = r->context;; p->context /= 2) {
        if (p->context < floor)
            p->context = floor;
        compute_totals(r, p);
        if (p->fits || !shrink || p->context == floor)
            return p->fits;
    }
}

/* Whole layers to host memory, the last first, until the rest fits. */
static bool spill_layers(const lvk_plan_request *r, lvk_memory_plan *p)
{
    char prefix[48];
    for (int l = r->cfg->n_layers - 1; l >= 0 && !p->fits; l--) {
        snprintf(prefix, sizeof prefix, "model.layers.%d.", l);
        for (int i = 0; i < p->n_tensors; i++)
            if (!strncmp(p->tensors[i].name, prefix, strlen(prefix)))
                p->tensors[i].host = true;
        p->spilled_layers++;
        compute_totals(r, p);
    }
    p->spill_ms_per_token = (double)p->host_bytes / (LVK_PLAN_BUS_GBPS * 1e9) * 1e3;
    return p->fits;
}

static double gb(uint64_t b) { return (double)b / 1e9; }

bool lvk_memory_plan_make(const lvk_plan_request *r, lvk_memory_plan *p, lvk_err *err)
{
    memset(p, 0, sizeof *p);
    p->n_tensors = lvk_llama_tensor_count(r->cfg);
    p->tensors = lvk_calloc((size_t)p->n_tensors, sizeof *p->tensors);
    if (!p->tensors)
        return lvk_fail(err, "out of host memory");
    p->n_sequences = r->n_sequences ? r->n_sequences : 1;
    p->budget_bytes = r->budget_bytes;
    p->budget_source = r->budget_source;

    bool fits = false;
    if (r->want != LVK_WEIGHTS_AUTO) {
        fits = try_choice(r, r->want, true, p);
    } else {
        fits = try_choice(r, LVK_WEIGHTS_STORED, false, p) || try_choice(r, LVK_WEIGHTS_Q8, true, p) ||
               try_choice(r, LVK_WEIGHTS_Q4, true, p);
    }
    size_t used = 0;
#define NOTE(...) used += (size_t)snprintf(p->notes + used, used < sizeof p->notes ? sizeof p->notes - used : 0, __VA_ARGS__)
    if (fits && r->want == LVK_WEIGHTS_AUTO && p->weights != LVK_WEIGHTS_STORED)
        NOTE("the weights as stored do not fit: %s. ", lvk_weights_choice_name(p->weights));
    if (fits && p->context < r->context)
        NOTE("the context shrank from %u to %u to fit. ", r->context, p->context);
    if (!fits && r->spill) {
        fits = spill_layers(r, p);
        if (fits)
            NOTE("%d layers (%.2f GB) stay in host memory, read over the bus every token: about %.0f ms per token "
                 "at %.0f GB/s. ",
                 p->spilled_layers, gb(p->host_bytes), p->spill_ms_per_token, LVK_PLAN_BUS_GBPS);
    }
#undef NOTE
    if (fits)
        return true;
    if (r->spill)
        return lvk_fail(err, "even with every layer in host memory the model needs %.2f GB on the device, and %s offers "
                             "%.2f GB",
                        gb(p->total_bytes), p->budget_source, gb(p->budget_bytes));
    /* What would fit at the least (q4 at the floor context): the plan shows that, and the error says it. */
    try_choice(r, LVK_WEIGHTS_Q4, true, p);
    return lvk_fail(err, "the model does not fit: at the least (q4 weights, context %u) it needs %.2f GB of device "
                         "memory (%.2f weights + %.2f KV cache + %.2f activations), and the device offers %.2f GB "
                         "(%s). Use a smaller context (-c), another device, or --spill to keep layers in host memory "
                         "(slower)",
                    p->context, gb(p->total_bytes), gb(p->weight_bytes), gb(p->kv_bytes), gb(p->other_bytes),
                    gb(p->budget_bytes), p->budget_source);
}

void lvk_memory_plan_free(lvk_memory_plan *p)
{
    free(p->tensors);
    memset(p, 0, sizeof *p);
}
