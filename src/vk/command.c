#include "vk/command.h"

#include <string.h>

bool lvk_cmd_create(lvk_device *d, lvk_cmd *c, uint32_t max_timestamps, lvk_err *err)
{
    memset(c, 0, sizeof *c);
    VkCommandBufferAllocateInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = d->cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkResult r = vkAllocateCommandBuffers(d->dev, &info, &c->cb);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "cannot allocate a command buffer (%s)", lvk_vk_result_name(r));
    VkFenceCreateInfo finfo = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    r = vkCreateFence(d->dev, &finfo, NULL, &c->fence);
    if (r != VK_SUCCESS) {
        lvk_cmd_destroy(d, c);
        return lvk_fail(err, "cannot create a fence (%s)", lvk_vk_result_name(r));
    }
    if (max_timestamps && d->info->timestamps) {
        VkQueryPoolCreateInfo qinfo = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            .queryType = VK_QUERY_TYPE_TIMESTAMP,
            .queryCount = max_timestamps,
        };
        if (vkCreateQueryPool(d->dev, &qinfo, NULL, &c->queries) == VK_SUCCESS)
            c->max_timestamps = max_timestamps;
    }
    return true;
}

void lvk_cmd_destroy(lvk_device *d, lvk_cmd *c)
{
    if (c->pending)
        lvk_cmd_wait(d, c, NULL);
    if (c->queries)
        vkDestroyQueryPool(d->dev, c->queries, NULL);
    if (c->fence)
        vkDestroyFence(d->dev, c->fence, NULL);
    if (c->cb)
        vkFreeCommandBuffers(d->dev, d->cmd_pool, 1, &c->cb);
    memset(c, 0, sizeof *c);
}

bool lvk_cmd_begin(lvk_device *d, lvk_cmd *c, bool reusable, lvk_err *err)
{
    (void)d;
    if (c->pending)
        return lvk_fail(err, "internal error: recording into a command buffer still in flight");
    vkResetCommandBuffer(c->cb, 0);
    VkCommandBufferBeginInfo begin = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = reusable ? 0 : VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    VkResult r = vkBeginCommandBuffer(c->cb, &begin);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "cannot begin a command buffer (%s)", lvk_vk_result_name(r));
    c->n_timestamps = 0;
    c->n_dispatches = 0;
    if (c->max_timestamps)
        vkCmdResetQueryPool(c->cb, c->queries, 0, c->max_timestamps);
    return true;
}

void lvk_cmd_dispatch(lvk_cmd *c, const lvk_pipeline *p, VkDescriptorSet set, const void *push, uint32_t gx,
                      uint32_t gy, uint32_t gz)
{
    vkCmdBindPipeline(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    vkCmdBindDescriptorSets(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
    if (p->push_size)
        vkCmdPushConstants(c->cb, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p->push_size, push);
    vkCmdDispatch(c->cb, gx, gy, gz);
    c->n_dispatches++;
}

void lvk_cmd_barrier(lvk_cmd *c)
{
    VkMemoryBarrier barrier = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                         VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    vkCmdPipelineBarrier(c->cb, stages, stages, 0, 1, &barrier, 0, NULL, 0, NULL);
}

void lvk_cmd_barrier_host(lvk_cmd *c)
{
    VkMemoryBarrier barrier = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    vkCmdPipelineBarrier(c->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, NULL, 0, NULL);
}

void lvk_cmd_copy(lvk_cmd *c, const lvk_view *src, const lvk_view *dst, VkDeviceSize size)
{
    VkBufferCopy region = {src->offset, dst->offset, size};
    vkCmdCopyBuffer(c->cb, src->buffer, dst->buffer, 1, &region);
}

int lvk_cmd_timestamp(lvk_cmd *c)
{
    if (c->n_timestamps >= c->max_timestamps)
        return -1;
    vkCmdWriteTimestamp(c->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, c->queries, c->n_timestamps);
    return (int)c->n_timestamps++;
}

bool lvk_cmd_end(lvk_cmd *c, lvk_err *err)
{
    VkResult r = vkEndCommandBuffer(c->cb);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "cannot end a command buffer (%s)", lvk_vk_result_name(r));
    return true;
}

bool lvk_cmd_submit(lvk_device *d, lvk_cmd *c, lvk_err *err)
{
    VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &c->cb,
    };
    VkResult r = vkQueueSubmit(d->queue, 1, &submit, c->fence);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "submitting work to the device failed (%s)", lvk_vk_result_name(r));
    c->pending = true;
    return true;
}

bool lvk_cmd_wait(lvk_device *d, lvk_cmd *c, lvk_err *err)
{
    if (!c->pending)
        return true;
    VkResult r = vkWaitForFences(d->dev, 1, &c->fence, VK_TRUE, UINT64_MAX);
    c->pending = false;
    vkResetFences(d->dev, 1, &c->fence);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "waiting for the device failed (%s)%s", lvk_vk_result_name(r),
                        r == VK_ERROR_DEVICE_LOST ? ": the driver reset the GPU (a kernel ran too long or faulted)" : "");
    return true;
}

bool lvk_cmd_run(lvk_device *d, lvk_cmd *c, lvk_err *err)
{
    return lvk_cmd_end(c, err) && lvk_cmd_submit(d, c, err) && lvk_cmd_wait(d, c, err);
}

bool lvk_cmd_elapsed_ms(lvk_device *d, lvk_cmd *c, int a, int b, double *ms, lvk_err *err)
{
    if (a < 0 || b < 0 || (uint32_t)a >= c->n_timestamps || (uint32_t)b >= c->n_timestamps)
        return lvk_fail(err, "no such timestamps (%d, %d)", a, b);
    uint64_t t[2];
    VkResult r = vkGetQueryPoolResults(d->dev, c->queries, (uint32_t)a, 1, sizeof t[0], &t[0], sizeof t[0],
                                       VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r == VK_SUCCESS)
        r = vkGetQueryPoolResults(d->dev, c->queries, (uint32_t)b, 1, sizeof t[1], &t[1], sizeof t[1],
                                  VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "cannot read timestamps (%s)", lvk_vk_result_name(r));
    *ms = (double)(t[1] - t[0]) * d->info->timestamp_period_ns * 1e-6;
    return true;
}

void lvk_split_groups(const lvk_device *d, uint32_t n, uint32_t *gx, uint32_t *gy)
{
    uint32_t max_x = d->info->max_workgroup_count[0] ? d->info->max_workgroup_count[0] : 65535;
    if (n <= max_x) {
        *gx = n ? n : 1;
        *gy = 1;
        return;
    }
    *gy = (n + max_x - 1) / max_x;
    *gx = (n + *gy - 1) / *gy;
}
