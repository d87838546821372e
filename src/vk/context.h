/* The Vulkan instance, what each physical device can do, and the logical device we run on.
 * The loader is opened at run time through volk: the programs start (and can say what is
 * wrong) on a machine with no Vulkan at all. */
#ifndef LVK_VK_CONTEXT_H
#define LVK_VK_CONTEXT_H
#include <stdbool.h>
#include <stdint.h>

#include <volk.h>

#include "base/status.h"

/* What we read off a physical device: the limits that bite (DESIGN §3) and the optional features
 * kernels may choose between at run time. */
typedef struct lvk_device_info {
    int index;
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    VkPhysicalDeviceType type;
    uint32_t vendor_id, device_id;
    uint32_t api_version, driver_version;
    char driver_name[VK_MAX_DRIVER_NAME_SIZE];
    char driver_info[VK_MAX_DRIVER_INFO_SIZE];

    uint32_t n_heaps;
    struct {
        uint64_t size;
        bool device_local;
    } heaps[VK_MAX_MEMORY_HEAPS];
    uint64_t device_local_bytes; /* sum of device-local heaps */
    uint64_t host_visible_bytes; /* sum of heaps with a host-visible memory type */
    bool unified_memory;         /* every device-local type is also host-visible (iGPU, CPU, ReBAR) */

    uint64_t max_storage_buffer_range;
    uint64_t max_memory_allocation_size;
    uint64_t max_buffer_size;
    uint64_t max_texel_buffer_elements;
    uint64_t min_storage_buffer_offset_alignment;
    uint64_t min_texel_buffer_offset_alignment;
    uint32_t max_workgroup_size[3];
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_count[3];
    uint32_t max_shared_memory;
    uint32_t max_push_constants;

    uint32_t subgroup_size, min_subgroup_size, max_subgroup_size;
    uint32_t subgroup_ops; /* VkSubgroupFeatureFlags usable in compute shaders */
    bool subgroup_size_control;

    bool shader_float16, shader_int8, storage_16bit, storage_8bit;
    bool cooperative_matrix, bfloat16, buffer_device_address, memory_budget;
    bool timestamps;
    float timestamp_period_ns;
} lvk_device_info;

typedef struct lvk_instance {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    uint32_t api_version;
    int n_devices;
    VkPhysicalDevice *physical;
    lvk_device_info *devices;
} lvk_instance;

/* Opens the loader, creates the instance (with a debug messenger that counts validation errors
 * when the validation layer is on) and reads every physical device. */
bool lvk_instance_create(lvk_instance *inst, lvk_err *err);
void lvk_instance_destroy(lvk_instance *inst);

/* Validation-layer errors reported so far (0 without the layer). Programs fail if it is not 0. */
int lvk_validation_error_count(void);
/* For tests that provoke an error on purpose. */
void lvk_validation_reset_count(void);

/* Picks a device: `want` is an index or a case-insensitive name substring; NULL means the env var
 * LLAMA_VK_DEVICE, and if that is unset, the first discrete GPU, else integrated, else any. */
bool lvk_device_choose(const lvk_instance *inst, const char *want, int *index, lvk_err *err);

const char *lvk_device_type_name(VkPhysicalDeviceType type);
const char *lvk_vendor_name(uint32_t vendor_id);
/* Driver version as the vendor writes it (NVIDIA packs it differently from the Vulkan macro). */
void lvk_driver_version_string(const lvk_device_info *info, char *out, size_t size);

/* The logical device: one compute queue, a command pool, a timestamp query pool. */
typedef struct lvk_device {
    const lvk_instance *inst;
    const lvk_device_info *info;
    VkPhysicalDevice phys;
    VkDevice dev;
    VkQueue queue;
    uint32_t queue_family;
    VkCommandPool cmd_pool;
    VkQueryPool query_pool;
    uint32_t n_queries;
    VkPhysicalDeviceMemoryProperties mem;
    /* optional features actually enabled on the logical device */
    bool has_float16, has_int8, has_storage_16bit, has_subgroup_size_control, has_memory_budget;
} lvk_device;

bool lvk_device_create(lvk_device *d, const lvk_instance *inst, int index, lvk_err *err);
void lvk_device_destroy(lvk_device *d);

/* Device-local memory this process can still use: the budget left where VK_EXT_memory_budget is
 * there, else the size of the largest device-local heap. */
uint64_t lvk_device_memory_available(const lvk_device *d);

/* Text for a VkResult, for error messages. */
const char *lvk_vk_result_name(VkResult r);

#endif
