#include "model/model_files.h"

#include <stdio.h>
#include <string.h>

#include "base/platform.h"

static bool open_tokenizer(lvk_model_files *f, const lvk_model_request *r, lvk_err *err)
{
    const char *path = r->tokenizer_path;
    if (!path) {
        if (!lvk_config_resolve_file(&f->cfg, f->cfg.tokenizer_file, r->models_dir, f->tokenizer_path,
                                     sizeof f->tokenizer_path, err)) {
            lvk_err_prefix(err, "tokenizer (give it with -F)");
            return false;
        }
        path = f->tokenizer_path;
    } else {
        snprintf(f->tokenizer_path, sizeof f->tokenizer_path, "%s", path);
    }
    lvk_tokenizer_type type;
    if (!lvk_tokenizer_type_from_name(f->cfg.tokenizer_type, &type, err) || !lvk_tokenizer_load(&f->tok, type, path, err))
        return false;
    int n = lvk_tokenizer_vocab_size(f->tok);
    if (n != f->cfg.vocab_size)
        return lvk_fail(err, "%s: the %s tokenizer has %d tokens but the model's vocabulary has %d: is it the other "
                             "LLaMA version's tokenizer?",
                        path, f->cfg.tokenizer_type, n, f->cfg.vocab_size);
    return true;
}

/* The built-in config of a demo model, its folder set to the first configs folder that holds its
 * checkpoint: beside the program, then the source tree (LLAMAVK_SOURCE_CONFIGS, set by CMake). When
 * neither does, the source tree's stays, so the error lists it along with the models folder. */
static bool demo_config(int version, lvk_model_config *cfg, lvk_err *err)
{
    if (!lvk_config_builtin_named(version == 3 ? "demo_llama3" : "demo_llama2", cfg, err))
        return false;
    char exe[900], path[2100];
    if (lvk_exe_dir(exe, sizeof exe)) {
        snprintf(path, sizeof path, "%s/configs/%s", exe, cfg->checkpoint);
        if (lvk_file_exists(path)) {
            snprintf(cfg->dir, sizeof cfg->dir, "%s/configs", exe);
            return true;
        }
    }
#ifdef LLAMAVK_SOURCE_CONFIGS
    snprintf(cfg->dir, sizeof cfg->dir, "%s", LLAMAVK_SOURCE_CONFIGS);
#endif
    return true;
}

/* The default with no model named: LLaMA2-7b when the models folder holds its checkpoint, else the demo. */
static bool want_demo(const lvk_model_request *r)
{
    if (r->demo)
        return true;
    if (r->config_path || r->ckpt_path || r->version_given || r->builtin)
        return false;
    lvk_model_config cfg;
    lvk_err quiet = {{0}};
    char path[1024];
    return !lvk_config_builtin(2, &cfg, &quiet) ||
           !lvk_config_resolve_file(&cfg, cfg.checkpoint, r->models_dir, path, sizeof path, &quiet);
}

bool lvk_model_files_open(lvk_model_files *f, const lvk_model_request *r, lvk_err *err)
{
    memset(f, 0, sizeof *f);
    lvk_model_config base;
    if (r->config_path) {
        if (!lvk_config_load(r->config_path, &base, err))
            return false;
    } else if (r->builtin) {
        if (!lvk_config_builtin_named(r->builtin, &base, err))
            return false;
    } else if (want_demo(r)) {
        if (!demo_config(r->demo ? r->demo : 2, &base, err))
            return false;
    } else if (!lvk_config_builtin(r->version ? r->version : 2, &base, err)) {
        return false;
    }
    if (r->ckpt_path) {
        snprintf(f->ckpt_path, sizeof f->ckpt_path, "%s", r->ckpt_path);
    } else if (!lvk_config_resolve_file(&base, base.checkpoint, r->models_dir, f->ckpt_path, sizeof f->ckpt_path, err)) {
        if (r->shapes_only) { /* planning before the download: the config's shapes are enough */
            f->cfg = base;
            f->ckpt_path[0] = '\0';
            snprintf(f->notes, sizeof f->notes, "no checkpoint found: planned from the config's shapes");
            return true;
        }
        lvk_err_prefix(err, "checkpoint (give it with -M)");
        return false;
    }
    lvk_ckpt_options ck_opt = {.skip_crc = r->skip_crc};
    if (!lvk_ckpt_open(&f->ck, f->ckpt_path, &ck_opt, err))
        return false;

    bool ok;
    if (r->config_path) {
        /* An explicit config is the truth: the checkpoint must match it. */
        f->cfg = base;
        ok = lvk_config_check_ckpt(&f->cfg, &f->ck, err);
    } else {
        ok = lvk_config_from_ckpt(&base, &f->ck, &f->cfg, f->notes, sizeof f->notes, err);
    }
    if (ok && r->need_tokenizer)
        ok = open_tokenizer(f, r, err);
    if (!ok)
        lvk_model_files_close(f);
    return ok;
}

void lvk_model_files_drop_ckpt(lvk_model_files *f) { lvk_ckpt_close(&f->ck); }

void lvk_model_files_close(lvk_model_files *f)
{
    if (f->tok)
        lvk_tokenizer_free(f->tok);
    lvk_ckpt_close(&f->ck);
    memset(f, 0, sizeof *f);
}
