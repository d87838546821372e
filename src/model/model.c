/* The public model handle (include/llamavk/llamavk.h): the files, the device and the model on it, opened
 * and closed as one. */
#include "llamavk/llamavk.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"

struct lvk_model {
    lvk_model_files files;
    bool have_files, have_inst, have_dev;
    lvk_instance inst;
    lvk_device dev;
    int device_index;
    lvk_llama llama;
};

static lvk_llama_options llama_options(const lvk_open_params *p, uint32_t context)
{
    lvk_llama_options opt = {
        .max_seq = context,
        .max_batch = p->max_batch,
        .max_sequences = p->max_sequences,
        .force = p->force,
        .progress = p->progress,
        .profile = p->profile,
        .weights = p->weights,
        .vram = p->vram,
        .spill = p->spill,
    };
    return opt;
}

static uint32_t default_context(const lvk_open_params *p, const lvk_model_config *cfg)
{
    return p->context ? p->context : (cfg->max_seq_len < 4096 ? (uint32_t)cfg->max_seq_len : 4096u);
}

bool lvk_model_plan(const lvk_open_params *p, lvk_memory_plan *plan, lvk_err *err)
{
    memset(plan, 0, sizeof *plan);
    lvk_model_files files;
    lvk_instance inst;
    lvk_device dev;
    int index = 0;
    lvk_model_request req = p->files;
    req.shapes_only = true;
    req.need_tokenizer = false;
    req.skip_crc = true; /* the plan reads no weights: a CRC check would read all 13-16 GB */
    if (!lvk_model_files_open(&files, &req, err))
        return false;
    if (files.notes[0])
        lvk_info("%s", files.notes);
    bool have_ckpt = files.ckpt_path[0] != '\0';
    bool ok = lvk_config_validate(&files.cfg, files.cfg.name, err) &&
              (!have_ckpt || lvk_config_check_ckpt(&files.cfg, &files.ck, err));
    bool have_inst = ok && (ok = lvk_instance_create(&inst, err));
    bool have_dev = ok && (ok = lvk_device_choose(&inst, p->device, &index, err) &&
                                lvk_device_create(&dev, &inst, index, err));
    if (ok) {
        lvk_llama_options opt = llama_options(p, default_context(p, &files.cfg));
        lvk_llama_plan(&dev, &files.cfg, &files.ck, &opt, plan, err); /* plan->fits says whether it does */
    }
    if (have_dev)
        lvk_device_destroy(&dev);
    if (have_inst)
        lvk_instance_destroy(&inst);
    lvk_model_files_close(&files);
    return ok;
}

bool lvk_model_open(lvk_model **out, const lvk_open_params *p, lvk_err *err)
{
    *out = NULL;
    lvk_model *m = lvk_calloc(1, sizeof *m);
    if (!m)
        return lvk_fail(err, "out of host memory");
    if (!(m->have_files = lvk_model_files_open(&m->files, &p->files, err)))
        goto fail;
    if (!p->quiet)
        lvk_info("model: %s (%s)", m->files.cfg.name[0] ? m->files.cfg.name : "unnamed", m->files.ckpt_path);
    if (m->files.notes[0] && !p->quiet)
        lvk_info("%s", m->files.notes);
    const lvk_model_config *cfg = &m->files.cfg;
    uint32_t context = default_context(p, cfg);
    if (context > (uint32_t)cfg->max_seq_len) {
        lvk_fail(err, "a context of %u is longer than the model's %d tokens", context, cfg->max_seq_len);
        goto fail;
    }
    if (p->before_load && !p->before_load(p->user, cfg, m->files.tok, context, err))
        goto fail;
    if (!(m->have_inst = lvk_instance_create(&m->inst, err)) ||
        !lvk_device_choose(&m->inst, p->device, &m->device_index, err) ||
        !(m->have_dev = lvk_device_create(&m->dev, &m->inst, m->device_index, err)))
        goto fail;
    if (!p->quiet)
        lvk_info("device: [%d] %s (%s)", m->device_index, m->dev.info->name, m->dev.info->driver_name);
    lvk_llama_options opt = llama_options(p, context);
    if (!lvk_llama_load(&m->llama, &m->dev, cfg, &m->files.ck, &opt, err))
        goto fail;
    lvk_model_files_drop_ckpt(&m->files);
    *out = m;
    return true;
fail:
    lvk_model_close(m);
    return false;
}

void lvk_model_close(lvk_model *m)
{
    if (!m)
        return;
    lvk_llama_destroy(&m->llama);
    if (m->have_dev)
        lvk_device_destroy(&m->dev);
    if (m->have_inst)
        lvk_instance_destroy(&m->inst);
    if (m->have_files)
        lvk_model_files_close(&m->files);
    free(m);
}

lvk_model_info lvk_model_get_info(const lvk_model *m)
{
    lvk_model_info info = {
        .cfg = &m->llama.cfg,
        .tok = m->files.tok,
        .ckpt_path = m->files.ckpt_path,
        .device_index = m->device_index,
        .device_name = m->dev.info->name,
        .driver_name = m->dev.info->driver_name,
        .context = m->llama.max_seq,
        .max_batch = m->llama.max_batch,
        .weight_bytes = m->llama.weight_bytes,
        .weights = lvk_weights_choice_name(m->llama.weights),
        .load_seconds = m->llama.load_seconds,
    };
    return info;
}

bool lvk_model_new_sequence(lvk_model *m, lvk_sequence **out, lvk_err *err)
{
    return lvk_sequence_create(&m->llama, 0, out, err);
}

void lvk_model_free_sequence(lvk_model *m, lvk_sequence *s)
{
    lvk_sequence_free(&m->llama, s);
}

bool lvk_model_generate(lvk_model *m, lvk_sequence *s, const int32_t *prompt, size_t n_prompt,
                        const lvk_generate_params *p, lvk_text_callback on_text, void *user, lvk_generate_result *out,
                        lvk_err *err)
{
    return lvk_generate(&m->llama, s, m->files.tok, prompt, n_prompt, p, on_text, user, out, err);
}

bool lvk_model_step(lvk_model *m, lvk_step_item *items, uint32_t n_items, lvk_err *err)
{
    return lvk_llama_step(&m->llama, items, n_items, err);
}

bool lvk_model_forward(lvk_model *m, lvk_sequence *s, const int32_t *ids, uint32_t n, lvk_llama_output what,
                       uint32_t top_k, lvk_llama_result *out, lvk_err *err)
{
    return lvk_llama_forward(&m->llama, s, ids, n, what, top_k, out, err);
}

const lvk_llama_profile *lvk_model_profile(const lvk_model *m) { return &m->llama.profile; }

void lvk_model_profile_reset(lvk_model *m) { lvk_llama_profile_reset(&m->llama); }

lvk_device *lvk_model_device(lvk_model *m) { return &m->dev; }
