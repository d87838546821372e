#include "io/config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/platform.h"
#include "io/ckpt.h"
#include "io/llama_layout.h"
#include "lvk_configs.h"

/* ---- reading JSON values, each error naming the key -------------------------------------- */

static bool json_int(const cJSON *obj, const char *key, const char *path, const char *origin, int *out, lvk_err *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item)
        return lvk_fail(err, "%s: missing key \"%s%s\"", origin, path, key);
    double v = item->valuedouble;
    if (!cJSON_IsNumber(item) || v != floor(v) || v < -2147483648.0 || v > 2147483647.0)
        return lvk_fail(err, "%s: key \"%s%s\" must be an integer", origin, path, key);
    *out = (int)v;
    return true;
}

static bool json_double(const cJSON *obj, const char *key, const char *path, const char *origin, double *out,
                        lvk_err *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item)
        return lvk_fail(err, "%s: missing key \"%s%s\"", origin, path, key);
    if (!cJSON_IsNumber(item))
        return lvk_fail(err, "%s: key \"%s%s\" must be a number", origin, path, key);
    *out = item->valuedouble;
    return true;
}

/* An absent optional string leaves out untouched. */
static bool json_string(const cJSON *obj, const char *key, const char *path, const char *origin, bool required,
                        char *out, size_t out_size, lvk_err *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item) {
        if (required)
            return lvk_fail(err, "%s: missing key \"%s%s\"", origin, path, key);
        return true;
    }
    if (!cJSON_IsString(item))
        return lvk_fail(err, "%s: key \"%s%s\" must be a string", origin, path, key);
    if (strlen(item->valuestring) >= out_size)
        return lvk_fail(err, "%s: key \"%s%s\" is longer than %zu characters", origin, path, key, out_size - 1);
    snprintf(out, out_size, "%s", item->valuestring);
    return true;
}

static bool json_only_keys(const cJSON *obj, const char *const *allowed, const char *path, const char *origin,
                           lvk_err *err)
{
    for (const cJSON *item = obj->child; item; item = item->next) {
        bool known = false;
        for (int i = 0; allowed[i]; i++)
            known = known || strcmp(item->string, allowed[i]) == 0;
        if (!known)
            return lvk_fail(err, "%s: unknown key \"%s%s\"", origin, path, item->string);
    }
    return true;
}

static const cJSON *json_object(const cJSON *obj, const char *key, const char *origin, lvk_err *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item) {
        lvk_fail(err, "%s: missing key \"%s\"", origin, key);
        return NULL;
    }
    if (!cJSON_IsObject(item)) {
        lvk_fail(err, "%s: key \"%s\" must be an object", origin, key);
        return NULL;
    }
    return item;
}

/* ---- the config -------------------------------------------------------------------------- */

static bool parse_model(const cJSON *model, const char *origin, lvk_model_config *cfg, lvk_err *err)
{
    static const char *const keys[] = {"dim",        "n_layers", "n_heads",    "n_kv_heads", "ffn_dim",
                                       "vocab_size", "norm_eps", "rope_theta", "max_seq_len", NULL};
    return json_only_keys(model, keys, "model.", origin, err) &&
           json_int(model, "dim", "model.", origin, &cfg->dim, err) &&
           json_int(model, "n_layers", "model.", origin, &cfg->n_layers, err) &&
           json_int(model, "n_heads", "model.", origin, &cfg->n_heads, err) &&
           json_int(model, "n_kv_heads", "model.", origin, &cfg->n_kv_heads, err) &&
           json_int(model, "ffn_dim", "model.", origin, &cfg->ffn_dim, err) &&
           json_int(model, "vocab_size", "model.", origin, &cfg->vocab_size, err) &&
           json_double(model, "norm_eps", "model.", origin, &cfg->norm_eps, err) &&
           json_double(model, "rope_theta", "model.", origin, &cfg->rope_theta, err) &&
           json_int(model, "max_seq_len", "model.", origin, &cfg->max_seq_len, err);
}

static bool parse_tokenizer(const cJSON *tok, const char *origin, lvk_model_config *cfg, lvk_err *err)
{
    static const char *const keys[] = {"type", "file", "bos_id", "eos_ids", NULL};
    if (!json_only_keys(tok, keys, "tokenizer.", origin, err) ||
        !json_string(tok, "type", "tokenizer.", origin, true, cfg->tokenizer_type, sizeof cfg->tokenizer_type, err) ||
        !json_string(tok, "file", "tokenizer.", origin, false, cfg->tokenizer_file, sizeof cfg->tokenizer_file, err) ||
        !json_int(tok, "bos_id", "tokenizer.", origin, &cfg->bos_id, err))
        return false;
    if (strcmp(cfg->tokenizer_type, "sentencepiece") != 0 && strcmp(cfg->tokenizer_type, "tiktoken") != 0)
        return lvk_fail(err, "%s: key \"tokenizer.type\" is \"%s\"; expected \"sentencepiece\" or \"tiktoken\"", origin,
                        cfg->tokenizer_type);
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(tok, "eos_ids");
    if (!eos)
        return lvk_fail(err, "%s: missing key \"tokenizer.eos_ids\"", origin);
    if (!cJSON_IsArray(eos) || cJSON_GetArraySize(eos) < 1 || cJSON_GetArraySize(eos) > LVK_CONFIG_MAX_EOS)
        return lvk_fail(err, "%s: key \"tokenizer.eos_ids\" must be an array of 1 to %d integers", origin,
                        LVK_CONFIG_MAX_EOS);
    cfg->n_eos = 0;
    for (const cJSON *id = eos->child; id; id = id->next) {
        if (!cJSON_IsNumber(id) || id->valuedouble != floor(id->valuedouble) || id->valuedouble < 0 ||
            id->valuedouble > 2147483647.0)
            return lvk_fail(err, "%s: key \"tokenizer.eos_ids\" must hold non-negative integers", origin);
        cfg->eos_ids[cfg->n_eos++] = (int)id->valuedouble;
    }
    return true;
}

bool lvk_config_validate(const lvk_model_config *cfg, const char *origin, lvk_err *err)
{
    if (cfg->dim <= 0 || cfg->n_layers <= 0 || cfg->n_heads <= 0 || cfg->n_kv_heads <= 0 || cfg->ffn_dim <= 0 ||
        cfg->vocab_size <= 0 || cfg->max_seq_len <= 0)
        return lvk_fail(err, "%s: dim, n_layers, n_heads, n_kv_heads, ffn_dim, vocab_size and max_seq_len must all be "
                             "positive",
                        origin);
    if (cfg->dim % cfg->n_heads != 0 || (cfg->dim / cfg->n_heads) % 2 != 0)
        return lvk_fail(err, "%s: dim %d must be n_heads (%d) x an even head size", origin, cfg->dim, cfg->n_heads);
    if (cfg->n_heads % cfg->n_kv_heads != 0)
        return lvk_fail(err, "%s: n_heads %d is not a multiple of n_kv_heads %d", origin, cfg->n_heads,
                        cfg->n_kv_heads);
    if (!(cfg->norm_eps > 0) || !(cfg->rope_theta > 0))
        return lvk_fail(err, "%s: norm_eps and rope_theta must be positive", origin);
    if (cfg->bos_id < 0 || cfg->bos_id >= cfg->vocab_size)
        return lvk_fail(err, "%s: tokenizer.bos_id %d is outside the vocabulary (%d)", origin, cfg->bos_id,
                        cfg->vocab_size);
    for (int i = 0; i < cfg->n_eos; i++)
        if (cfg->eos_ids[i] >= cfg->vocab_size)
            return lvk_fail(err, "%s: tokenizer.eos_ids[%d] = %d is outside the vocabulary (%d)", origin, i,
                            cfg->eos_ids[i], cfg->vocab_size);
    return true;
}

bool lvk_config_parse(const char *json, const char *origin, lvk_model_config *cfg, lvk_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    unsigned long failures = lvk_alloc_failures();
    cJSON *root = cJSON_Parse(json);
    if (!root && lvk_alloc_failures() != failures)
        return lvk_fail(err, "%s: out of host memory", origin);
    if (!root) {
        const char *where = cJSON_GetErrorPtr();
        long at = where && where >= json ? (long)(where - json) : 0;
        return lvk_fail(err, "%s: not valid JSON (near character %ld)", origin, at);
    }
    static const char *const keys[] = {"name", "model", "tokenizer", "checkpoint", "chat_template", NULL};
    bool ok = cJSON_IsObject(root) || lvk_fail(err, "%s: the config must be a JSON object", origin);
    ok = ok && json_only_keys(root, keys, "", origin, err);
    ok = ok && json_string(root, "name", "", origin, false, cfg->name, sizeof cfg->name, err);
    const cJSON *model = ok ? json_object(root, "model", origin, err) : NULL;
    ok = ok && model && parse_model(model, origin, cfg, err);
    const cJSON *tok = ok ? json_object(root, "tokenizer", origin, err) : NULL;
    ok = ok && tok && parse_tokenizer(tok, origin, cfg, err);
    ok = ok && json_string(root, "checkpoint", "", origin, false, cfg->checkpoint, sizeof cfg->checkpoint, err);
    char chat_template[16] = "none";
    ok = ok && json_string(root, "chat_template", "", origin, false, chat_template, sizeof chat_template, err);
    if (ok && !lvk_chat_template_from_name(chat_template, &cfg->chat_template, err)) {
        lvk_err_prefix(err, "%s: key \"chat_template\"", origin);
        ok = false;
    }
    cJSON_Delete(root);
    if (ok && !cfg->name[0])
        snprintf(cfg->name, sizeof cfg->name, "%.63s", origin); /* messages need something to call it */
    return ok && lvk_config_validate(cfg, origin, err);
}

static void dir_of(const char *path, char *out, size_t out_size)
{
    const char *slash = NULL;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == '\\')
            slash = p;
    if (!slash)
        snprintf(out, out_size, ".");
    else if (slash == path)
        snprintf(out, out_size, "/");
    else
        snprintf(out, out_size, "%.*s", (int)(slash - path), path);
}

bool lvk_config_load(const char *path, lvk_model_config *cfg, lvk_err *err)
{
    FILE *f = lvk_fopen(path, "rb");
    if (!f)
        return lvk_fail(err, "%s: cannot open the config file", path);
    enum { MAX_CONFIG = 1 << 20 };
    char *text = lvk_malloc(MAX_CONFIG + 1);
    if (!text) {
        fclose(f);
        return lvk_fail(err, "out of host memory");
    }
    size_t n = fread(text, 1, MAX_CONFIG + 1, f);
    fclose(f);
    if (n > MAX_CONFIG) {
        free(text);
        return lvk_fail(err, "%s: config file over 1 MiB", path);
    }
    text[n] = '\0';
    bool ok = lvk_config_parse(text, path, cfg, err);
    free(text);
    if (ok)
        dir_of(path, cfg->dir, sizeof cfg->dir);
    return ok;
}

bool lvk_config_builtin(int version, lvk_model_config *cfg, lvk_err *err)
{
    const char *want = version == 2 ? "llama2_7b" : version == 3 ? "llama3_8b" : NULL;
    if (!want)
        return lvk_fail(err, "model version %d: expected 2 (LLaMA2-7b) or 3 (LLaMA3-8b)", version);
    return lvk_config_builtin_named(want, cfg, err);
}

bool lvk_config_builtin_named(const char *name, lvk_model_config *cfg, lvk_err *err)
{
    char names[512] = "";
    size_t used = 0;
    for (int i = 0; i < lvk_embedded_config_count; i++) {
        if (strcmp(lvk_embedded_configs[i].name, name) == 0) {
            char origin[96];
            snprintf(origin, sizeof origin, "built-in config %.60s.json", name);
            return lvk_config_parse(lvk_embedded_configs[i].json, origin, cfg, err);
        }
        int n = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", lvk_embedded_configs[i].name);
        if (n > 0 && used + (size_t)n < sizeof names)
            used += (size_t)n;
    }
    return lvk_fail(err, "no built-in config \"%.60s\" (built-in: %s)", name, names);
}

/* ---- files a config names ---------------------------------------------------------------- */

static bool is_absolute(const char *p)
{
    if (p[0] == '/' || p[0] == '\\')
        return true;
    return ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':' &&
           (p[2] == '/' || p[2] == '\\');
}

bool lvk_config_resolve_file(const lvk_model_config *cfg, const char *file, const char *models_dir, char *out,
                             size_t out_size, lvk_err *err)
{
    if (!file || !file[0])
        return lvk_fail(err, "config %s: no file name given", cfg->name);
    if (is_absolute(file)) {
        if (!lvk_file_exists(file))
            return lvk_fail(err, "%s: file not found", file);
        snprintf(out, out_size, "%s", file);
        return true;
    }
    if (!models_dir)
        models_dir = lvk_getenv("LLAMA_VK_MODELS");
    if (!models_dir || !models_dir[0])
        models_dir = "./models";
    const char *dirs[2] = {cfg->dir, models_dir};
    char tried[2][1100] = {"", ""};
    for (int i = 0; i < 2; i++) {
        if (!dirs[i][0])
            continue;
        int n = snprintf(tried[i], sizeof tried[i], "%s/%s", dirs[i], file);
        if (n < 0 || (size_t)n >= sizeof tried[i] || (size_t)n >= out_size)
            continue;
        if (lvk_file_exists(tried[i])) {
            snprintf(out, out_size, "%s", tried[i]);
            return true;
        }
    }
    return lvk_fail(err, "%s: not found (tried %s%s%s; set LLAMA_VK_MODELS or --models to the models folder)",
                    file, tried[0][0] ? tried[0] : "", tried[0][0] ? " and " : "", tried[1]);
}

/* ---- config against checkpoint ----------------------------------------------------------- */

static void format_dims(char *out, size_t out_size, int n_dims, const int64_t *dims)
{
    size_t used = 0;
    used += (size_t)snprintf(out, out_size, "[");
    for (int i = 0; i < n_dims && used < out_size; i++)
        used += (size_t)snprintf(out + used, out_size - used, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (used < out_size)
        snprintf(out + used, out_size - used, "]");
}

static bool is_float_dtype(lvk_dtype d)
{
    return d == LVK_DTYPE_F16 || d == LVK_DTYPE_BF16 || d == LVK_DTYPE_F32;
}

bool lvk_config_check_ckpt(const lvk_model_config *cfg, const lvk_ckpt *ck, lvk_err *err)
{
    char problems[LVK_ERR_MSG_SIZE] = "";
    size_t used = 0;
    int n_problems = 0, n_listed = 0;
    int count = lvk_llama_tensor_count(cfg);
    for (int i = 0; i < count; i++) {
        lvk_tensor_spec spec;
        lvk_llama_tensor_spec(cfg, i, &spec);
        const lvk_ckpt_tensor *t = lvk_ckpt_find(ck, spec.name);
        char line[512], want[64], have[160];
        format_dims(want, sizeof want, spec.n_dims, spec.dims);
        if (!t) {
            snprintf(line, sizeof line, "%s missing (expected %s)", spec.name, want);
        } else {
            bool shape_ok = t->n_dims == spec.n_dims;
            for (int d = 0; shape_ok && d < spec.n_dims; d++)
                shape_ok = t->dims[d] == spec.dims[d];
            if (shape_ok && is_float_dtype(t->dtype))
                continue;
            format_dims(have, sizeof have, t->n_dims, t->dims);
            snprintf(line, sizeof line, "%s is %s %s, expected %s Float16/BFloat16/Float32", spec.name, have,
                     lvk_dtype_name(t->dtype), want);
        }
        n_problems++;
        /* keep room for the "... and N more" tail */
        if (used + strlen(line) + 3 < sizeof problems - 200) {
            used += (size_t)snprintf(problems + used, sizeof problems - used, "%s%s", n_listed ? "; " : "", line);
            n_listed++;
        }
    }
    if (n_problems == 0)
        return true;
    if (n_listed < n_problems)
        snprintf(problems + used, sizeof problems - used, "; ... and %d more", n_problems - n_listed);
    return lvk_fail(err, "%s does not match config %s: %d tensor(s) missing or wrong: %s", ck->path, cfg->name,
                    n_problems, problems);
}

static const lvk_ckpt_tensor *find_2d(const lvk_ckpt *ck, const char *name, lvk_err *err)
{
    const lvk_ckpt_tensor *t = lvk_ckpt_find(ck, name);
    if (!t) {
        lvk_fail(err, "%s: no tensor %s, so the model's shape cannot be read from it", ck->path, name);
        return NULL;
    }
    if (t->n_dims != 2 || t->dims[0] <= 0 || t->dims[1] <= 0 || t->dims[0] > 2147483647 || t->dims[1] > 2147483647) {
        lvk_fail(err, "%s: tensor %s should be 2-D [rows, cols]", ck->path, name);
        return NULL;
    }
    return t;
}

bool lvk_config_from_ckpt(const lvk_model_config *base, const lvk_ckpt *ck, lvk_model_config *out, char *notes,
                          size_t notes_size, lvk_err *err)
{
    *out = *base;
    const lvk_ckpt_tensor *emb = find_2d(ck, "model.tok_embeddings.embedding_weight", err);
    if (!emb)
        return false;
    out->vocab_size = (int)emb->dims[0];
    out->dim = (int)emb->dims[1];
    char name[96];
    out->n_layers = 0;
    for (;;) {
        snprintf(name, sizeof name, "model.layers.%d.attention.wq.weight", out->n_layers);
        if (!lvk_ckpt_find(ck, name))
            break;
        out->n_layers++;
    }
    if (out->n_layers == 0)
        return lvk_fail(err, "%s: no tensor model.layers.0.attention.wq.weight: not a LLaMA checkpoint", ck->path);
    const lvk_ckpt_tensor *w1 = find_2d(ck, "model.layers.0.feed_forward.w1.weight", err);
    const lvk_ckpt_tensor *wk = w1 ? find_2d(ck, "model.layers.0.attention.wk.weight", err) : NULL;
    if (!wk)
        return false;
    out->ffn_dim = (int)w1->dims[0];
    if (out->dim % out->n_heads != 0)
        return lvk_fail(err, "%s: dim %d (from the checkpoint) is not a multiple of the %d heads of %s; give a config "
                             "with -C",
                        ck->path, out->dim, out->n_heads, base->name);
    int head_dim = out->dim / out->n_heads;
    if (wk->dims[0] % head_dim != 0 || wk->dims[0] == 0)
        return lvk_fail(err, "%s: wk has %lld rows, not a multiple of the head size %d; give a config with -C",
                        ck->path, (long long)wk->dims[0], head_dim);
    out->n_kv_heads = (int)(wk->dims[0] / head_dim);
    snprintf(out->checkpoint, sizeof out->checkpoint, "%s", ck->path);
    if (notes && notes_size)
        snprintf(notes, notes_size,
                 "from the checkpoint: dim %d, layers %d, kv heads %d, ffn %d, vocab %d; assumed from %s: heads %d, "
                 "rope theta %g, norm eps %g, max seq len %d, tokenizer %s (bos %d)",
                 out->dim, out->n_layers, out->n_kv_heads, out->ffn_dim, out->vocab_size, base->name, out->n_heads,
                 out->rope_theta, out->norm_eps, out->max_seq_len, out->tokenizer_type, out->bos_id);
    char origin[160];
    snprintf(origin, sizeof origin, "shapes of %s with %s", ck->path, base->name);
    if (!lvk_config_validate(out, origin, err))
        return false;
    return lvk_config_check_ckpt(out, ck, err);
}
