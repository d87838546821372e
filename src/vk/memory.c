#include "vk/memory.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/fault.h"

#define LVK_BUFFER_USAGE                                                                                      \
    (VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |                          \
     VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT)

/* Picks a memory type allowed by `bits`: the first with all of `want`, and of those one with all of
 * `prefer` if there is one. */
static int find_memory_type(const lvk_device *d, uint32_t bits, VkMemoryPropertyFlags want, VkMemoryPropertyFlags prefer)
{
    int found = -1;
    for (uint32_t i = 0; i < d->mem.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = d->mem.memoryTypes[i].propertyFlags;
        if (!(bits & (1u << i)) || (f & want) != want)
            continue;
        if ((f & prefer) == prefer)
            return (int)i;
        if (found < 0)
            found = (int)i;
    }
    return found;
}

static const char *kind_name(lvk_mem_kind kind)
{
    return kind == LVK_MEM_DEVICE ? "device-local" : kind == LVK_MEM_HOST ? "host-visible" : "staging";
}

bool lvk_buffer_create(lvk_device *d, lvk_buffer *b, VkDeviceSize size, lvk_mem_kind kind, lvk_err *err)
{
    memset(b, 0, sizeof *b);
    if (size == 0)
        size = 16;
    VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = LVK_BUFFER_USAGE,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(d->dev, &info, NULL, &b->buffer);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "cannot create a %s buffer of %llu bytes (%s)", kind_name(kind), (unsigned long long)size,
                        lvk_vk_result_name(r));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(d->dev, b->buffer, &req);

    const VkMemoryPropertyFlags visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int type = -1;
    if (kind == LVK_MEM_DEVICE)
        type = find_memory_type(d, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    else if (kind == LVK_MEM_HOST)
        type = find_memory_type(d, req.memoryTypeBits, visible, VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    else
        type = find_memory_type(d, req.memoryTypeBits, visible, 0);
    if (type < 0 && kind == LVK_MEM_DEVICE) /* a device without device-local memory types: take any */
        type = find_memory_type(d, req.memoryTypeBits, 0, 0);
    if (type < 0) {
        lvk_buffer_destroy(d, b);
        return lvk_fail(err, "the device has no %s memory type for a buffer", kind_name(kind));
    }
    VkMemoryAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = (uint32_t)type,
    };
    r = lvk_fault("device-alloc") ? VK_ERROR_OUT_OF_DEVICE_MEMORY : vkAllocateMemory(d->dev, &alloc, NULL, &b->memory);
    if (r != VK_SUCCESS) {
        lvk_buffer_destroy(d, b);
        return lvk_fail(err, "out of %s memory: cannot allocate %.1f MiB (%s)", kind_name(kind),
                        (double)req.size / (1024.0 * 1024.0), lvk_vk_result_name(r));
    }
    r = vkBindBufferMemory(d->dev, b->buffer, b->memory, 0);
    if (r != VK_SUCCESS) {
        lvk_buffer_destroy(d, b);
        return lvk_fail(err, "cannot bind buffer memory (%s)", lvk_vk_result_name(r));
    }
    b->size = size;
    if (d->mem.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
        r = vkMapMemory(d->dev, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped);
        if (r != VK_SUCCESS) {
            lvk_buffer_destroy(d, b);
            return lvk_fail(err, "cannot map buffer memory (%s)", lvk_vk_result_name(r));
        }
        /* Mapped device memory that is not coherent would need flushes: treat it as unmapped. */
        if (!(d->mem.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) {
            vkUnmapMemory(d->dev, b->memory);
            b->mapped = NULL;
        }
    }
    return true;
}

void lvk_buffer_destroy(lvk_device *d, lvk_buffer *b)
{
    if (b->buffer)
        vkDestroyBuffer(d->dev, b->buffer, NULL);
    if (b->memory)
        vkFreeMemory(d->dev, b->memory, NULL);
    memset(b, 0, sizeof *b);
}

/* ---- arena --------------------------------------------------------------------------------- */

void lvk_arena_init(lvk_device *d, lvk_arena *a, lvk_mem_kind kind)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    VkDeviceSize block = (VkDeviceSize)1 << 30;
    if (d->info->max_memory_allocation_size && d->info->max_memory_allocation_size < block)
        block = d->info->max_memory_allocation_size;
    if (d->info->max_buffer_size && d->info->max_buffer_size < block)
        block = d->info->max_buffer_size;
    a->block_size = block & ~(VkDeviceSize)255;
}

VkDeviceSize lvk_arena_max_alloc(const lvk_arena *a) { return a->block_size; }

static VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a) { return (v + a - 1) / a * a; }

bool lvk_arena_alloc(lvk_device *d, lvk_arena *a, VkDeviceSize size, lvk_view *out, lvk_err *err)
{
    if (size > a->block_size)
        return lvk_fail(err, "a single allocation of %llu bytes is over the device's block limit of %llu bytes",
                        (unsigned long long)size, (unsigned long long)a->block_size);
    /* 256 bytes satisfies every storage and texel offset alignment seen in practice; read the real one too. */
    VkDeviceSize align = 256;
    if (d->info->min_storage_buffer_offset_alignment > align)
        align = d->info->min_storage_buffer_offset_alignment;
    if (d->info->min_texel_buffer_offset_alignment > align)
        align = d->info->min_texel_buffer_offset_alignment;

    int blk = a->n_blocks - 1;
    if (blk < 0 || align_up(a->used[blk], align) + size > a->blocks[blk].size) {
        if (a->n_blocks == a->cap_blocks) {
            int cap = a->cap_blocks ? 2 * a->cap_blocks : 8;
            lvk_buffer *nb = lvk_realloc(a->blocks, (size_t)cap * sizeof *nb);
            if (!nb)
                return lvk_fail(err, "out of host memory");
            a->blocks = nb;
            VkDeviceSize *nu = lvk_realloc(a->used, (size_t)cap * sizeof *nu);
            if (!nu)
                return lvk_fail(err, "out of host memory");
            a->used = nu;
            a->cap_blocks = cap;
        }
        blk = a->n_blocks;
        if (!lvk_buffer_create(d, &a->blocks[blk], a->block_size, a->kind, err))
            return false;
        a->used[blk] = 0;
        a->n_blocks++;
        a->total_allocated += a->block_size;
    }
    VkDeviceSize offset = align_up(a->used[blk], align);
    a->used[blk] = offset + size;
    out->buffer = a->blocks[blk].buffer;
    out->offset = offset;
    out->size = size;
    out->mapped = a->blocks[blk].mapped ? (char *)a->blocks[blk].mapped + offset : NULL;
    return true;
}

void lvk_arena_destroy(lvk_device *d, lvk_arena *a)
{
    for (int i = 0; i < a->n_blocks; i++)
        lvk_buffer_destroy(d, &a->blocks[i]);
    free(a->blocks);
    free(a->used);
    memset(a, 0, sizeof *a);
}

/* ---- transfers ----------------------------------------------------------------------------- */

bool lvk_transfer_init(lvk_device *d, lvk_transfer *t, VkDeviceSize slot_size, lvk_err *err)
{
    memset(t, 0, sizeof *t);
    t->slot_size = slot_size;
    VkCommandBufferAllocateInfo cinfo = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = d->cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 4,
    };
    VkResult r = vkAllocateCommandBuffers(d->dev, &cinfo, t->cmd);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "cannot allocate command buffers (%s)", lvk_vk_result_name(r));
    for (int i = 0; i < 4; i++) {
        VkFenceCreateInfo finfo = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        r = vkCreateFence(d->dev, &finfo, NULL, &t->fence[i]);
        if (r != VK_SUCCESS) {
            lvk_transfer_destroy(d, t);
            return lvk_fail(err, "cannot create a fence (%s)", lvk_vk_result_name(r));
        }
        if (!lvk_buffer_create(d, &t->staging[i], slot_size, LVK_MEM_STAGING, err)) {
            lvk_transfer_destroy(d, t);
            return false;
        }
    }
    return true;
}

static bool wait_slot(lvk_device *d, lvk_transfer *t, int i, lvk_err *err)
{
    if (!t->in_flight[i])
        return true;
    VkResult r = vkWaitForFences(d->dev, 1, &t->fence[i], VK_TRUE, UINT64_MAX);
    t->in_flight[i] = false;
    if (r != VK_SUCCESS)
        return lvk_fail(err, "waiting for a transfer failed (%s)", lvk_vk_result_name(r));
    vkResetFences(d->dev, 1, &t->fence[i]);
    return true;
}

bool lvk_transfer_finish(lvk_device *d, lvk_transfer *t, lvk_err *err)
{
    for (int i = 0; i < 4; i++)
        if (!wait_slot(d, t, i, err))
            return false;
    return true;
}

void lvk_transfer_destroy(lvk_device *d, lvk_transfer *t)
{
    lvk_transfer_finish(d, t, NULL);
    for (int i = 0; i < 4; i++) {
        if (t->fence[i])
            vkDestroyFence(d->dev, t->fence[i], NULL);
        lvk_buffer_destroy(d, &t->staging[i]);
    }
    if (t->cmd[0])
        vkFreeCommandBuffers(d->dev, d->cmd_pool, 4, t->cmd);
    memset(t, 0, sizeof *t);
}

/* Records and submits one buffer copy on slot i. */
static bool submit_copy(lvk_device *d, lvk_transfer *t, int i, VkBuffer src, VkDeviceSize src_off, VkBuffer dst,
                        VkDeviceSize dst_off, VkDeviceSize size, lvk_err *err)
{
    VkCommandBufferBeginInfo begin = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    vkResetCommandBuffer(t->cmd[i], 0);
    vkBeginCommandBuffer(t->cmd[i], &begin);
    /* Earlier compute work may still be writing what we read, or reading what we overwrite. */
    VkMemoryBarrier before = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    vkCmdPipelineBarrier(t->cmd[i], VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, NULL, 0, NULL);
    VkBufferCopy region = {src_off, dst_off, size};
    vkCmdCopyBuffer(t->cmd[i], src, dst, 1, &region);
    VkMemoryBarrier after = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_HOST_READ_BIT,
    };
    vkCmdPipelineBarrier(t->cmd[i], VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &after, 0, NULL, 0,
                         NULL);
    vkEndCommandBuffer(t->cmd[i]);
    VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &t->cmd[i],
    };
    VkResult r = vkQueueSubmit(d->queue, 1, &submit, t->fence[i]);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "submitting a transfer failed (%s)", lvk_vk_result_name(r));
    t->in_flight[i] = true;
    return true;
}

bool lvk_upload(lvk_device *d, lvk_transfer *t, const lvk_view *dst, VkDeviceSize dst_offset, const void *src,
                VkDeviceSize size, lvk_err *err)
{
    if (dst_offset + size > dst->size)
        return lvk_fail(err, "upload of %llu bytes at %llu overflows a %llu-byte view", (unsigned long long)size,
                        (unsigned long long)dst_offset, (unsigned long long)dst->size);
    if (dst->mapped) {
        /* The GPU may still read this memory from an earlier submission: callers upload before use. */
        memcpy((char *)dst->mapped + dst_offset, src, (size_t)size);
        return true;
    }
    const char *p = src;
    while (size > 0) {
        VkDeviceSize n = size < t->slot_size ? size : t->slot_size;
        int i = t->next;
        t->next = (t->next + 1) % 4;
        if (!wait_slot(d, t, i, err))
            return false;
        memcpy(t->staging[i].mapped, p, (size_t)n);
        if (!submit_copy(d, t, i, t->staging[i].buffer, 0, dst->buffer, dst->offset + dst_offset, n, err))
            return false;
        p += n;
        dst_offset += n;
        size -= n;
    }
    return true;
}

bool lvk_download(lvk_device *d, lvk_transfer *t, const lvk_view *src, VkDeviceSize src_offset, void *dst,
                  VkDeviceSize size, lvk_err *err)
{
    if (src_offset + size > src->size)
        return lvk_fail(err, "download of %llu bytes at %llu overflows a %llu-byte view", (unsigned long long)size,
                        (unsigned long long)src_offset, (unsigned long long)src->size);
    if (!lvk_transfer_finish(d, t, err))
        return false;
    if (src->mapped) {
        memcpy(dst, (const char *)src->mapped + src_offset, (size_t)size);
        return true;
    }
    char *p = dst;
    while (size > 0) {
        VkDeviceSize n = size < t->slot_size ? size : t->slot_size;
        if (!submit_copy(d, t, 0, src->buffer, src->offset + src_offset, t->staging[0].buffer, 0, n, err) ||
            !wait_slot(d, t, 0, err))
            return false;
        memcpy(p, t->staging[0].mapped, (size_t)n);
        p += n;
        src_offset += n;
        size -= n;
    }
    return true;
}
