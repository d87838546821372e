/* Finding and opening what a run needs: the config (-C, or the built-in one of -V), the checkpoint
 * (-M, or the config's file name in the models folder) and the tokenizer (-F, likewise), checked
 * against each other before anything touches the device.
 *
 * The demo models (configs/demo_llama2.json, demo_llama3.json, their files in configs/demo/) are looked
 * for beside the program (<program folder>/configs/demo/..., as a zip unpacks) and then in the source
 * tree it was built from, then the models folder. With no -V, -C or -M and no LLaMA2-7b checkpoint in
 * the models folder, demo-llama2 is used. */
#ifndef LVK_MODEL_MODEL_FILES_H
#define LVK_MODEL_MODEL_FILES_H
#include "io/ckpt.h"
#include "io/config.h"
#include "io/tokenizer.h"

typedef struct lvk_model_request {
    int version;                /* 2 or 3: the built-in config used when config_path is NULL */
    bool version_given;         /* -V 2|3 given: no falling back to the demo */
    int demo;                   /* 2 or 3: the demo model of that LLaMA version instead; 0: none */
    const char *builtin;        /* a built-in config by name ("llama2_7b_chat") instead of version's */
    bool shapes_only;           /* --plan: without a checkpoint found, the config alone (no ck, no tokenizer) */
    const char *config_path;    /* -C */
    const char *ckpt_path;      /* -M */
    const char *tokenizer_path; /* -F */
    const char *models_dir;     /* --models; NULL: $LLAMA_VK_MODELS, then ./models */
    bool skip_crc;
    bool need_tokenizer;
} lvk_model_request;

typedef struct lvk_model_files {
    lvk_model_config cfg;
    lvk_ckpt ck;
    lvk_tokenizer *tok;
    char ckpt_path[1024];
    char tokenizer_path[1024];
    char notes[1024]; /* what was assumed (shapes taken from the checkpoint), for the user */
} lvk_model_files;

bool lvk_model_files_open(lvk_model_files *f, const lvk_model_request *r, lvk_err *err);
void lvk_model_files_close(lvk_model_files *f);
/* Closes the checkpoint (its mapping and index) once the weights are on the device, so the 13-16 GB of
 * mapped file pages stop counting against the memory the device shares with the host. */
void lvk_model_files_drop_ckpt(lvk_model_files *f);

#endif
