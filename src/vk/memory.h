/* Device memory: single buffers, an arena that packs many tensors into a few large blocks, and
 * host <-> device transfers through a staging ring. */
#ifndef LVK_VK_MEMORY_H
#define LVK_VK_MEMORY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vk/context.h"

typedef enum lvk_mem_kind {
    LVK_MEM_DEVICE,   /* device-local; the GPU's fast memory */
    LVK_MEM_HOST,     /* host-visible and coherent, cached if possible: readback and small uniforms */
    LVK_MEM_STAGING,  /* host-visible and coherent, write-combined is fine: uploads */
} lvk_mem_kind;

/* One VkBuffer bound to its own VkDeviceMemory. `mapped` is set when the memory is host-visible
 * (always for HOST/STAGING; for DEVICE on unified-memory devices too). */
typedef struct lvk_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    void *mapped;
} lvk_buffer;

bool lvk_buffer_create(lvk_device *d, lvk_buffer *b, VkDeviceSize size, lvk_mem_kind kind, lvk_err *err);
void lvk_buffer_destroy(lvk_device *d, lvk_buffer *b);

/* A byte range of a buffer: what a descriptor binds. */
typedef struct lvk_view {
    VkBuffer buffer;
    VkDeviceSize offset, size;
    void *mapped; /* host pointer to offset, or NULL */
} lvk_view;

static inline lvk_view lvk_buffer_view_all(const lvk_buffer *b)
{
    lvk_view v = {b->buffer, 0, b->size, b->mapped};
    return v;
}

/* Many tensors in few allocations: blocks of at most min(1 GiB, maxMemoryAllocationSize,
 * maxBufferSize), each one VkBuffer; a tensor never straddles two blocks. */
typedef struct lvk_arena {
    lvk_mem_kind kind;
    VkDeviceSize block_size;
    int n_blocks, cap_blocks;
    lvk_buffer *blocks;
    VkDeviceSize *used;
    VkDeviceSize total_allocated;
} lvk_arena;

void lvk_arena_init(lvk_device *d, lvk_arena *a, lvk_mem_kind kind);
/* Largest single allocation the arena can serve. */
VkDeviceSize lvk_arena_max_alloc(const lvk_arena *a);
bool lvk_arena_alloc(lvk_device *d, lvk_arena *a, VkDeviceSize size, lvk_view *out, lvk_err *err);
void lvk_arena_destroy(lvk_device *d, lvk_arena *a);

/* Host -> device and device -> host copies. Uses a direct memcpy when the destination is mapped,
 * otherwise a staging ring of a few slots so that filling one slot overlaps the copy of another. */
typedef struct lvk_transfer {
    lvk_buffer staging[4];
    VkCommandBuffer cmd[4];
    VkFence fence[4];
    bool in_flight[4];
    int next;
    VkDeviceSize slot_size;
} lvk_transfer;

bool lvk_transfer_init(lvk_device *d, lvk_transfer *t, VkDeviceSize slot_size, lvk_err *err);
void lvk_transfer_destroy(lvk_device *d, lvk_transfer *t);
/* Queues a copy of src into dst at dst_offset; may return before the copy is done. */
bool lvk_upload(lvk_device *d, lvk_transfer *t, const lvk_view *dst, VkDeviceSize dst_offset, const void *src,
                VkDeviceSize size, lvk_err *err);
/* Waits until every queued upload has landed. */
bool lvk_transfer_finish(lvk_device *d, lvk_transfer *t, lvk_err *err);
/* Synchronous device -> host copy. */
bool lvk_download(lvk_device *d, lvk_transfer *t, const lvk_view *src, VkDeviceSize src_offset, void *dst,
                  VkDeviceSize size, lvk_err *err);

#endif
