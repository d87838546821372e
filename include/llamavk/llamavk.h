/* llama-vk's public C API: what the programs in src/cli/ and tools/ build on.
 *
 *   lvk_instance_create / lvk_device_choose / lvk_device_create   a Vulkan device   (vk/context.h)
 *   lvk_model_files_open     config + checkpoint + tokenizer, checked together     (model/model_files.h)
 *   lvk_llama_load           the model on the device                               (model/llama.h)
 *   lvk_generate             prompt ids in, text out through a callback            (model/generate.h)
 *   lvk_tokenizer_encode     text to ids, and the streaming detokenizer            (io/tokenizer.h)
 *   lvk_ckpt_open            a MindSpore checkpoint, indexed without copying       (io/ckpt.h)
 *
 * Every fallible call returns bool and fills an lvk_err with a message for the user (base/status.h). */
#ifndef LLAMAVK_LLAMAVK_H
#define LLAMAVK_LLAMAVK_H

#include "base/platform.h"
#include "base/status.h"
#include "io/ckpt.h"
#include "io/config.h"
#include "io/tokenizer.h"
#include "model/generate.h"
#include "model/llama.h"
#include "model/model_files.h"
#include "vk/context.h"

#endif
