/* Tensor element types and their names as MindSpore files spell them. */
#ifndef LVK_BASE_DTYPE_H
#define LVK_BASE_DTYPE_H
#include <stdbool.h>
#include <stddef.h>

/* Element types of tensors: one numbering for the checkpoint reader, the weight formats on the
 * device (src/ops/weight_format.c) and the kernels, whose specialization constants take these
 * values (shaders/weight_format.glsl spells the ones the kernels read). Keep the order. */
typedef enum lvk_dtype {
    LVK_DTYPE_F16 = 0,
    LVK_DTYPE_BF16 = 1,
    LVK_DTYPE_F32 = 2,
    LVK_DTYPE_F64,
    LVK_DTYPE_I8,
    LVK_DTYPE_U8,
    LVK_DTYPE_I16,
    LVK_DTYPE_U16,
    LVK_DTYPE_I32,
    LVK_DTYPE_U32,
    LVK_DTYPE_I64,
    LVK_DTYPE_U64,
    LVK_DTYPE_BOOL,
    LVK_DTYPE_COUNT, /* the types a file may hold end here */
    /* Weight formats made on the device at load (ops/quant_format.h); never read from a file. */
    LVK_DTYPE_Q8 = 16,
    LVK_DTYPE_Q4 = 17,
} lvk_dtype;

/* Bytes per element; 0 for the quantized formats (they have no whole-byte element). */
size_t lvk_dtype_size(lvk_dtype dtype);
/* The name as spelled in files: "Float16", "BFloat16", "Float32", ... "UInt8", "Bool"; "q8", "q4". */
const char *lvk_dtype_name(lvk_dtype dtype);
/* Parses a file's tensor_type spelling (also the old "Uint8" style); false if unknown. */
bool lvk_dtype_from_name(const char *name, size_t len, lvk_dtype *out);

#endif
