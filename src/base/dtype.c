#include "base/dtype.h"

#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtype_info[LVK_DTYPE_COUNT] = {
    [LVK_DTYPE_F16] = {"Float16", 2}, [LVK_DTYPE_BF16] = {"BFloat16", 2}, [LVK_DTYPE_F32] = {"Float32", 4},
    [LVK_DTYPE_F64] = {"Float64", 8}, [LVK_DTYPE_I8] = {"Int8", 1},       [LVK_DTYPE_U8] = {"UInt8", 1},
    [LVK_DTYPE_I16] = {"Int16", 2},   [LVK_DTYPE_U16] = {"UInt16", 2},    [LVK_DTYPE_I32] = {"Int32", 4},
    [LVK_DTYPE_U32] = {"UInt32", 4},  [LVK_DTYPE_I64] = {"Int64", 8},     [LVK_DTYPE_U64] = {"UInt64", 8},
    [LVK_DTYPE_BOOL] = {"Bool", 1},
};

size_t lvk_dtype_size(lvk_dtype dtype)
{
    return (unsigned)dtype < LVK_DTYPE_COUNT ? dtype_info[dtype].size : 0;
}

const char *lvk_dtype_name(lvk_dtype dtype)
{
    if (dtype == LVK_DTYPE_Q8 || dtype == LVK_DTYPE_Q4)
        return dtype == LVK_DTYPE_Q8 ? "q8" : "q4";
    return (unsigned)dtype < LVK_DTYPE_COUNT ? dtype_info[dtype].name : "?";
}

static bool bytes_equal_str(const char *bytes, size_t len, const char *s)
{
    return strlen(s) == len && memcmp(bytes, s, len) == 0;
}

bool lvk_dtype_from_name(const char *name, size_t len, lvk_dtype *out)
{
    for (int d = 0; d < LVK_DTYPE_COUNT; d++) {
        if (bytes_equal_str(name, len, dtype_info[d].name)) {
            *out = (lvk_dtype)d;
            return true;
        }
    }
    /* very old writers spelled the unsigned types "Uint8" ... "Uint64" */
    static const struct {
        const char *name;
        lvk_dtype dtype;
    } old_names[] = {{"Uint8", LVK_DTYPE_U8}, {"Uint16", LVK_DTYPE_U16}, {"Uint32", LVK_DTYPE_U32},
                     {"Uint64", LVK_DTYPE_U64}};
    for (size_t i = 0; i < sizeof old_names / sizeof old_names[0]; i++) {
        if (bytes_equal_str(name, len, old_names[i].name)) {
            *out = old_names[i].dtype;
            return true;
        }
    }
    return false;
}
