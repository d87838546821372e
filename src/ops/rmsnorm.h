/* RMSNorm with the weight multiply fused, fp32 math:
 *   out[t, i] = x[t, i] / sqrt(mean_i(x[t, i]^2) + eps) * w[i]
 *   x, out: fp32 [max_tokens, dim] (out may be x: in place);  w: lvk_weight [1, dim] fp32/fp16/bf16.
 * One workgroup per token. Variants differ only in how the workgroup sums x^2:
 *   SUBGROUP: subgroupAdd, then one shared slot per subgroup (needs subgroup arithmetic; LLAMA_VK_NO_SUBGROUP=1 turns it off);
 *   SHARED:   a shared-memory tree (needs nothing optional). */
#ifndef LVK_OPS_RMSNORM_H
#define LVK_OPS_RMSNORM_H
#include "ops/kernels.h"
#include "ops/weight.h"

typedef enum lvk_rmsnorm_variant {
    LVK_RMSNORM_AUTO = 0,
    LVK_RMSNORM_SUBGROUP,
    LVK_RMSNORM_SHARED,
} lvk_rmsnorm_variant;

typedef struct lvk_rmsnorm_options {
    lvk_rmsnorm_variant variant; /* AUTO: subgroup where the device has it and the env allows */
    uint32_t workgroup_size;     /* 0: the device's default; else a power of two */
} lvk_rmsnorm_options;

typedef struct lvk_rmsnorm_op {
    const lvk_pipeline *pipeline;
    VkDescriptorSet set;
    lvk_rmsnorm_variant variant;
    uint32_t dim, max_tokens, workgroup_size;
    float eps;
} lvk_rmsnorm_op;

bool lvk_rmsnorm_prepare(lvk_kernels *k, lvk_rmsnorm_op *op, const lvk_view *x, const lvk_weight *w, const lvk_view *out,
                         uint32_t dim, float eps, uint32_t max_tokens, lvk_err *err);
/* The same with an explicit variant (tests force each one); opt may be NULL. Fails if a forced variant is unsupported. */
bool lvk_rmsnorm_prepare_ex(lvk_kernels *k, lvk_rmsnorm_op *op, const lvk_view *x, const lvk_weight *w,
                            const lvk_view *out, uint32_t dim, float eps, uint32_t max_tokens,
                            const lvk_rmsnorm_options *opt, lvk_err *err);
/* Can this device run the variant? */
bool lvk_rmsnorm_variant_supported(const lvk_kernels *k, lvk_rmsnorm_variant variant);
const char *lvk_rmsnorm_variant_name(lvk_rmsnorm_variant variant);
void lvk_rmsnorm_record(lvk_cmd *c, const lvk_rmsnorm_op *op, uint32_t n_tokens);

#endif
