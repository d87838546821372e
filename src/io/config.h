/* Model configs (the configs folder's .json files, read with cJSON):
 *
 *   {"name": "llama2-7b",
 *    "model": {"dim", "n_layers", "n_heads", "n_kv_heads", "ffn_dim", "vocab_size", "norm_eps", "rope_theta",
 *              "max_seq_len"},
 *    "tokenizer": {"type": "sentencepiece" | "tiktoken", "file", "bos_id", "eos_ids": [..]},
 *    "checkpoint": "file.ckpt",
 *    "chat_template": "llama2" | "llama3" | "none"}
 *
 * Every key of "model" is required, as are tokenizer.type, bos_id and eos_ids; "name", tokenizer.file,
 * "checkpoint" and "chat_template" are optional. "chat_template" says how a chat/instruct model wants a
 * conversation written (io/chat_template.h); base models have none (absent = "none"). An unknown key or a value of the wrong type is an error that names the key.
 * File names that are not absolute resolve against the config's folder, then the models folder
 * (--models, else $LLAMA_VK_MODELS, else ./models). */
#ifndef LVK_IO_CONFIG_H
#define LVK_IO_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"
#include "io/chat_template.h"

struct lvk_ckpt;

#define LVK_CONFIG_MAX_EOS 8

typedef struct lvk_model_config {
    char name[64];
    int dim, n_layers, n_heads, n_kv_heads, ffn_dim, vocab_size, max_seq_len;
    double norm_eps, rope_theta;
    char tokenizer_type[16]; /* "sentencepiece" | "tiktoken" */
    char tokenizer_file[1024];
    int bos_id;
    int eos_ids[LVK_CONFIG_MAX_EOS];
    int n_eos;
    char checkpoint[1024];
    lvk_chat_template chat_template;
    char dir[1024]; /* folder of the config file, "" for built-ins */
} lvk_model_config;

/* origin names the text in messages (a path, or "built-in llama2_7b"). cfg->dir is left "". */
bool lvk_config_parse(const char *json, const char *origin, lvk_model_config *cfg, lvk_err *err);
bool lvk_config_load(const char *path, lvk_model_config *cfg, lvk_err *err);
/* version 2 -> configs/llama2_7b.json, 3 -> configs/llama3_8b.json, as embedded in the program. */
bool lvk_config_builtin(int version, lvk_model_config *cfg, lvk_err *err);
/* A built-in config by its file name without .json ("llama2_7b_chat", "llama3_8b_instruct", ...); the error
 * lists the built-ins. */
bool lvk_config_builtin_named(const char *name, lvk_model_config *cfg, lvk_err *err);

/* Finds a file the config names: absolute as is; else against cfg->dir, then models_dir
 * (NULL -> env LLAMA_VK_MODELS, then "./models"). The error lists every place tried. */
bool lvk_config_resolve_file(const lvk_model_config *cfg, const char *file, const char *models_dir, char *out,
                             size_t out_size, lvk_err *err);

/* Every tensor the config implies exists with the right dims and a float dtype; the message lists
 * every tensor missing or wrong (as many as fit). */
bool lvk_config_check_ckpt(const lvk_model_config *cfg, const struct lvk_ckpt *ck, lvk_err *err);

/* A config whose shapes (dim, layers, kv heads, ffn, vocab) come from the checkpoint and the rest
 * (heads, rope theta, eps, tokenizer, special ids) from *base; notes says what was taken and assumed.
 * The result is checked against the checkpoint. */
bool lvk_config_from_ckpt(const lvk_model_config *base, const struct lvk_ckpt *ck, lvk_model_config *out,
                          char *notes, size_t notes_size, lvk_err *err);

/* Consistency of the numbers (positive, heads divide dim, kv heads divide heads, even head dim). */
bool lvk_config_validate(const lvk_model_config *cfg, const char *origin, lvk_err *err);

#endif
