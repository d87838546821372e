#include "vk/pipeline.h"

#include <stdio.h>
#include <string.h>

static VkDescriptorType descriptor_type(lvk_binding_kind kind)
{
    return kind == LVK_BIND_UNIFORM_TEXEL ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}

bool lvk_pipeline_create(lvk_device *d, lvk_pipeline *p, const lvk_pipeline_desc *desc, lvk_err *err)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", desc->name);
    p->n_bindings = desc->n_bindings;
    memcpy(p->bindings, desc->bindings, sizeof p->bindings);
    p->push_size = desc->push_size;
    if (desc->push_size > d->info->max_push_constants)
        return lvk_fail(err, "pipeline %s: %u bytes of push constants, the device allows %u", desc->name,
                        desc->push_size, d->info->max_push_constants);

    VkShaderModuleCreateInfo module_info = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = desc->spirv_size,
        .pCode = desc->spirv,
    };
    VkResult r = vkCreateShaderModule(d->dev, &module_info, NULL, &p->module);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "pipeline %s: cannot create the shader module (%s)", desc->name, lvk_vk_result_name(r));

    VkDescriptorSetLayoutBinding bindings[LVK_MAX_BINDINGS];
    for (int i = 0; i < desc->n_bindings; i++) {
        bindings[i] = (VkDescriptorSetLayoutBinding){
            .binding = (uint32_t)i,
            .descriptorType = descriptor_type(desc->bindings[i]),
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    }
    VkDescriptorSetLayoutCreateInfo set_info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = (uint32_t)desc->n_bindings,
        .pBindings = bindings,
    };
    r = vkCreateDescriptorSetLayout(d->dev, &set_info, NULL, &p->set_layout);
    if (r != VK_SUCCESS) {
        lvk_pipeline_destroy(d, p);
        return lvk_fail(err, "pipeline %s: cannot create the set layout (%s)", desc->name, lvk_vk_result_name(r));
    }
    VkPushConstantRange push = {VK_SHADER_STAGE_COMPUTE_BIT, 0, desc->push_size};
    VkPipelineLayoutCreateInfo layout_info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &p->set_layout,
        .pushConstantRangeCount = desc->push_size ? 1u : 0u,
        .pPushConstantRanges = &push,
    };
    r = vkCreatePipelineLayout(d->dev, &layout_info, NULL, &p->layout);
    if (r != VK_SUCCESS) {
        lvk_pipeline_destroy(d, p);
        return lvk_fail(err, "pipeline %s: cannot create the layout (%s)", desc->name, lvk_vk_result_name(r));
    }

    VkSpecializationMapEntry entries[LVK_MAX_SPEC];
    for (int i = 0; i < desc->n_spec; i++)
        entries[i] = (VkSpecializationMapEntry){(uint32_t)i, (uint32_t)(i * sizeof(uint32_t)), sizeof(uint32_t)};
    VkSpecializationInfo spec = {
        .mapEntryCount = (uint32_t)desc->n_spec,
        .pMapEntries = entries,
        .dataSize = (size_t)desc->n_spec * sizeof(uint32_t),
        .pData = desc->spec,
    };
    VkPipelineShaderStageRequiredSubgroupSizeCreateInfo subgroup = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO,
        .requiredSubgroupSize = desc->subgroup_size,
    };
    bool pin_subgroup = desc->subgroup_size && d->has_subgroup_size_control;
    VkComputePipelineCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
            .pNext = pin_subgroup ? &subgroup : NULL,
            .stage = VK_SHADER_STAGE_COMPUTE_BIT,
            .module = p->module,
            .pName = "main",
            .pSpecializationInfo = desc->n_spec ? &spec : NULL,
        },
        .layout = p->layout,
    };
    r = vkCreateComputePipelines(d->dev, VK_NULL_HANDLE, 1, &info, NULL, &p->pipeline);
    if (r != VK_SUCCESS) {
        lvk_pipeline_destroy(d, p);
        return lvk_fail(err, "pipeline %s: cannot create it (%s)", desc->name, lvk_vk_result_name(r));
    }
    return true;
}

void lvk_pipeline_destroy(lvk_device *d, lvk_pipeline *p)
{
    if (p->pipeline)
        vkDestroyPipeline(d->dev, p->pipeline, NULL);
    if (p->layout)
        vkDestroyPipelineLayout(d->dev, p->layout, NULL);
    if (p->set_layout)
        vkDestroyDescriptorSetLayout(d->dev, p->set_layout, NULL);
    if (p->module)
        vkDestroyShaderModule(d->dev, p->module, NULL);
    memset(p, 0, sizeof *p);
}

bool lvk_descriptor_pool_create(lvk_device *d, lvk_descriptor_pool *pool, uint32_t max_sets, lvk_err *err)
{
    memset(pool, 0, sizeof *pool);
    VkDescriptorPoolSize sizes[2] = {
        {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, max_sets * LVK_MAX_BINDINGS},
        {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, max_sets * LVK_MAX_BINDINGS},
    };
    VkDescriptorPoolCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = max_sets,
        .poolSizeCount = 2,
        .pPoolSizes = sizes,
    };
    VkResult r = vkCreateDescriptorPool(d->dev, &info, NULL, &pool->pool);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "cannot create a descriptor pool of %u sets (%s)", max_sets, lvk_vk_result_name(r));
    return true;
}

void lvk_descriptor_pool_destroy(lvk_device *d, lvk_descriptor_pool *pool)
{
    if (pool->pool)
        vkDestroyDescriptorPool(d->dev, pool->pool, NULL);
    memset(pool, 0, sizeof *pool);
}

bool lvk_bindings_check(const lvk_device *d, const lvk_pipeline *p, const lvk_binding *b, lvk_err *err)
{
    for (int i = 0; i < p->n_bindings; i++) {
        if (p->bindings[i] == LVK_BIND_UNIFORM_TEXEL) {
            if (!b[i].texel)
                return lvk_fail(err, "pipeline %s: binding %d needs a texel buffer view", p->name, i);
        } else if (!b[i].view.buffer || b[i].view.size == 0) {
            return lvk_fail(err, "pipeline %s: binding %d has no buffer", p->name, i);
        } else if (b[i].view.size > d->info->max_storage_buffer_range) {
            return lvk_fail(err, "pipeline %s: binding %d spans %llu bytes, over the device's maxStorageBufferRange of %llu",
                            p->name, i, (unsigned long long)b[i].view.size,
                            (unsigned long long)d->info->max_storage_buffer_range);
        }
    }
    return true;
}

bool lvk_descriptor_set_create(lvk_device *d, lvk_descriptor_pool *pool, const lvk_pipeline *p, const lvk_binding *b,
                               VkDescriptorSet *out, lvk_err *err)
{
    if (!lvk_bindings_check(d, p, b, err))
        return false;
    VkDescriptorSetAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = pool->pool,
        .descriptorSetCount = 1,
        .pSetLayouts = &p->set_layout,
    };
    VkResult r = vkAllocateDescriptorSets(d->dev, &alloc, out);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "pipeline %s: cannot allocate a descriptor set (%s)", p->name, lvk_vk_result_name(r));
    VkDescriptorBufferInfo infos[LVK_MAX_BINDINGS];
    VkWriteDescriptorSet writes[LVK_MAX_BINDINGS];
    for (int i = 0; i < p->n_bindings; i++) {
        writes[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = *out,
            .dstBinding = (uint32_t)i,
            .descriptorCount = 1,
            .descriptorType = descriptor_type(p->bindings[i]),
        };
        if (p->bindings[i] == LVK_BIND_UNIFORM_TEXEL) {
            writes[i].pTexelBufferView = &b[i].texel;
        } else {
            infos[i] = (VkDescriptorBufferInfo){b[i].view.buffer, b[i].view.offset, b[i].view.size};
            writes[i].pBufferInfo = &infos[i];
        }
    }
    vkUpdateDescriptorSets(d->dev, (uint32_t)p->n_bindings, writes, 0, NULL);
    return true;
}

bool lvk_texel_view_create(lvk_device *d, const lvk_view *v, VkFormat format, VkBufferView *out, lvk_err *err)
{
    VkBufferViewCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
        .buffer = v->buffer,
        .format = format,
        .offset = v->offset,
        .range = v->size,
    };
    VkResult r = vkCreateBufferView(d->dev, &info, NULL, out);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "cannot create a texel buffer view of %llu bytes (%s)", (unsigned long long)v->size,
                        lvk_vk_result_name(r));
    return true;
}
