#include "vk/context.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/platform.h"

/* ---- errors -------------------------------------------------------------------------------- */

const char *lvk_vk_result_name(VkResult r)
{
    switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    default: return "VkResult error";
    }
}

/* ---- validation messages ------------------------------------------------------------------- */

static int g_validation_errors;

static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                      VkDebugUtilsMessageTypeFlagsEXT types,
                                                      const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)user;
    /* The loader reports its own trouble (no driver, a broken manifest) as general messages; the
     * instance/device errors we return already say what to do, so show those only with -v. */
    if (!(types & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT))) {
        lvk_debug("vulkan: %s", data->pMessage ? data->pMessage : "(no message)");
        return VK_FALSE;
    }
    if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
        g_validation_errors++;
        fprintf(stderr, "vulkan validation error: %s\n", data->pMessage ? data->pMessage : "(no message)");
    } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        fprintf(stderr, "vulkan validation warning: %s\n", data->pMessage ? data->pMessage : "(no message)");
    }
    return VK_FALSE;
}

int lvk_validation_error_count(void) { return g_validation_errors; }

void lvk_validation_reset_count(void) { g_validation_errors = 0; }

/* ---- instance ------------------------------------------------------------------------------ */

static bool has_extension(const VkExtensionProperties *exts, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(exts[i].extensionName, name) == 0)
            return true;
    return false;
}

static bool read_device_info(VkPhysicalDevice phys, int index, lvk_device_info *info);

/* What a user without the loader should do, in their system's terms. */
#ifdef _WIN32
#define LOADER_NAME "vulkan-1.dll"
#define LOADER_HINT "install or update your GPU's driver from NVIDIA, AMD or Intel (it brings vulkan-1.dll)"
#else
#define LOADER_NAME "libvulkan.so.1"
#define LOADER_HINT "install your GPU's driver, or on Debian/Ubuntu `apt install libvulkan1 mesa-vulkan-drivers`"
#endif

bool lvk_instance_create(lvk_instance *inst, lvk_err *err)
{
    memset(inst, 0, sizeof *inst);
    lvk_pin_leaky_vulkan_modules();
    if (volkInitialize() != VK_SUCCESS)
        return lvk_fail(err, "the Vulkan loader was not found (%s): %s", LOADER_NAME, LOADER_HINT);
    uint32_t loader_version = volkGetInstanceVersion();
    if (loader_version < VK_API_VERSION_1_1)
        return lvk_fail(err, "the Vulkan loader is version %u.%u, llama-vk needs 1.1 or newer: update the GPU driver",
                        VK_API_VERSION_MAJOR(loader_version), VK_API_VERSION_MINOR(loader_version));
    inst->api_version = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : loader_version;

    uint32_t n_ext = 0;
    vkEnumerateInstanceExtensionProperties(NULL, &n_ext, NULL);
    VkExtensionProperties *exts = lvk_calloc(n_ext ? n_ext : 1, sizeof *exts);
    if (!exts)
        return lvk_fail(err, "out of host memory");
    vkEnumerateInstanceExtensionProperties(NULL, &n_ext, exts);
    const char *enabled[4];
    uint32_t n_enabled = 0;
    bool debug_utils = has_extension(exts, n_ext, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    if (debug_utils)
        enabled[n_enabled++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkInstanceCreateFlags flags = 0;
    if (has_extension(exts, n_ext, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        enabled[n_enabled++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    free(exts);

    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "llama-vk",
        .applicationVersion = VK_MAKE_API_VERSION(0, 0, 1, 0),
        .pEngineName = "llama-vk",
        .apiVersion = inst->api_version,
    };
    VkDebugUtilsMessengerCreateInfoEXT messenger_info = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_debug_message,
    };
    VkInstanceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = debug_utils ? &messenger_info : NULL, /* also catches errors during instance creation */
        .flags = flags,
        .pApplicationInfo = &app,
        .enabledExtensionCount = n_enabled,
        .ppEnabledExtensionNames = enabled,
    };
    VkResult r = vkCreateInstance(&info, NULL, &inst->instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return lvk_fail(err, "no Vulkan driver was found: install your GPU's driver (or on Debian/Ubuntu "
                             "`apt install mesa-vulkan-drivers` for the CPU driver lavapipe)");
    if (r != VK_SUCCESS)
        return lvk_fail(err, "cannot create a Vulkan instance (%s): check the GPU driver installation",
                        lvk_vk_result_name(r));
    volkLoadInstanceOnly(inst->instance);
    if (debug_utils && vkCreateDebugUtilsMessengerEXT)
        vkCreateDebugUtilsMessengerEXT(inst->instance, &messenger_info, NULL, &inst->messenger);

    uint32_t n = 0;
    r = vkEnumeratePhysicalDevices(inst->instance, &n, NULL);
    if (r != VK_SUCCESS || n == 0) {
        lvk_instance_destroy(inst);
        return lvk_fail(err, "no Vulkan device was found: install your GPU's driver (or on Debian/Ubuntu "
                             "`apt install mesa-vulkan-drivers` for the CPU driver lavapipe)");
    }
    inst->physical = lvk_calloc(n, sizeof *inst->physical);
    inst->devices = lvk_calloc(n, sizeof *inst->devices);
    if (!inst->physical || !inst->devices) {
        lvk_instance_destroy(inst);
        return lvk_fail(err, "out of host memory");
    }
    vkEnumeratePhysicalDevices(inst->instance, &n, inst->physical);
    for (uint32_t i = 0; i < n; i++) {
        if (!read_device_info(inst->physical[i], (int)i, &inst->devices[i])) {
            lvk_instance_destroy(inst);
            return lvk_fail(err, "out of host memory while reading device %u", i);
        }
    }
    inst->n_devices = (int)n;
    return true;
}

void lvk_instance_destroy(lvk_instance *inst)
{
    if (inst->messenger)
        vkDestroyDebugUtilsMessengerEXT(inst->instance, inst->messenger, NULL);
    if (inst->instance)
        vkDestroyInstance(inst->instance, NULL);
    free(inst->physical);
    free(inst->devices);
    memset(inst, 0, sizeof *inst);
}

/* ---- what a device can do ------------------------------------------------------------------ */

static void read_memory(VkPhysicalDevice phys, lvk_device_info *info)
{
    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(phys, &mem);
    info->n_heaps = mem.memoryHeapCount;
    info->unified_memory = true;
    bool heap_host_visible[VK_MAX_MEMORY_HEAPS] = {false};
    for (uint32_t t = 0; t < mem.memoryTypeCount; t++) {
        VkMemoryPropertyFlags f = mem.memoryTypes[t].propertyFlags;
        if (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
            heap_host_visible[mem.memoryTypes[t].heapIndex] = true;
        if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && !(f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
            info->unified_memory = false;
    }
    for (uint32_t h = 0; h < mem.memoryHeapCount; h++) {
        info->heaps[h].size = mem.memoryHeaps[h].size;
        info->heaps[h].device_local = (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
        if (info->heaps[h].device_local)
            info->device_local_bytes += mem.memoryHeaps[h].size;
        if (heap_host_visible[h])
            info->host_visible_bytes += mem.memoryHeaps[h].size;
    }
}

static bool read_device_info(VkPhysicalDevice phys, int index, lvk_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->index = index;

    uint32_t n_ext = 0;
    vkEnumerateDeviceExtensionProperties(phys, NULL, &n_ext, NULL);
    VkExtensionProperties *exts = lvk_calloc(n_ext ? n_ext : 1, sizeof *exts);
    if (!exts)
        return false;
    vkEnumerateDeviceExtensionProperties(phys, NULL, &n_ext, exts);

    VkPhysicalDeviceProperties base;
    vkGetPhysicalDeviceProperties(phys, &base);
    uint32_t api = base.apiVersion;
    bool v12 = api >= VK_API_VERSION_1_2, v13 = api >= VK_API_VERSION_1_3;
    bool ext_driver = v12 || has_extension(exts, n_ext, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    bool ext_sgsc = v13 || has_extension(exts, n_ext, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    bool ext_maint4 = v13 || has_extension(exts, n_ext, VK_KHR_MAINTENANCE_4_EXTENSION_NAME);
    bool ext_f16i8 = v12 || has_extension(exts, n_ext, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
    bool ext_8bit = v12 || has_extension(exts, n_ext, VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
    info->cooperative_matrix = has_extension(exts, n_ext, "VK_KHR_cooperative_matrix");
    info->bfloat16 = has_extension(exts, n_ext, "VK_KHR_shader_bfloat16");
    info->buffer_device_address = v12 || has_extension(exts, n_ext, VK_KHR_BUFFER_DEVICE_ADDRESS_EXTENSION_NAME);
    info->memory_budget = has_extension(exts, n_ext, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    free(exts);

    /* properties: one chain with only the structs this device knows */
    VkPhysicalDeviceSubgroupProperties subgroup = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties maint3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceMaintenance4Properties maint4 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
    VkPhysicalDeviceSubgroupSizeControlProperties sgsc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
    VkPhysicalDeviceDriverProperties driver = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    void **tail = &props.pNext;
    *tail = &subgroup, tail = &subgroup.pNext;
    *tail = &maint3, tail = &maint3.pNext;
    if (ext_maint4)
        *tail = &maint4, tail = &maint4.pNext;
    if (ext_sgsc)
        *tail = &sgsc, tail = &sgsc.pNext;
    if (ext_driver)
        *tail = &driver, tail = &driver.pNext;
    vkGetPhysicalDeviceProperties2(phys, &props);

    /* features */
    VkPhysicalDevice16BitStorageFeatures f16s = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceShaderFloat16Int8Features f16i8 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice8BitStorageFeatures s8 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
    VkPhysicalDeviceSubgroupSizeControlFeatures sgscf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
    VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    tail = &feats.pNext;
    *tail = &f16s, tail = &f16s.pNext;
    if (ext_f16i8)
        *tail = &f16i8, tail = &f16i8.pNext;
    if (ext_8bit)
        *tail = &s8, tail = &s8.pNext;
    if (ext_sgsc)
        *tail = &sgscf, tail = &sgscf.pNext;
    vkGetPhysicalDeviceFeatures2(phys, &feats);

    snprintf(info->name, sizeof info->name, "%s", base.deviceName);
    info->type = base.deviceType;
    info->vendor_id = base.vendorID;
    info->device_id = base.deviceID;
    info->api_version = api;
    info->driver_version = base.driverVersion;
    if (ext_driver) {
        snprintf(info->driver_name, sizeof info->driver_name, "%s", driver.driverName);
        snprintf(info->driver_info, sizeof info->driver_info, "%s", driver.driverInfo);
    }
    read_memory(phys, info);

    const VkPhysicalDeviceLimits *lim = &base.limits;
    info->max_storage_buffer_range = lim->maxStorageBufferRange;
    info->max_memory_allocation_size = maint3.maxMemoryAllocationSize;
    info->max_buffer_size = ext_maint4 ? maint4.maxBufferSize : maint3.maxMemoryAllocationSize;
    info->max_texel_buffer_elements = lim->maxTexelBufferElements;
    info->min_storage_buffer_offset_alignment = lim->minStorageBufferOffsetAlignment;
    info->min_texel_buffer_offset_alignment = lim->minTexelBufferOffsetAlignment;
    for (int i = 0; i < 3; i++) {
        info->max_workgroup_size[i] = lim->maxComputeWorkGroupSize[i];
        info->max_workgroup_count[i] = lim->maxComputeWorkGroupCount[i];
    }
    info->max_workgroup_invocations = lim->maxComputeWorkGroupInvocations;
    info->max_shared_memory = lim->maxComputeSharedMemorySize;
    info->max_push_constants = lim->maxPushConstantsSize;
    info->timestamps = lim->timestampComputeAndGraphics == VK_TRUE && lim->timestampPeriod > 0;
    info->timestamp_period_ns = lim->timestampPeriod;

    info->subgroup_size = subgroup.subgroupSize;
    info->min_subgroup_size = info->max_subgroup_size = subgroup.subgroupSize;
    if (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT)
        info->subgroup_ops = subgroup.supportedOperations;
    if (ext_sgsc && sgscf.subgroupSizeControl && (sgsc.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT)) {
        info->subgroup_size_control = true;
        info->min_subgroup_size = sgsc.minSubgroupSize;
        info->max_subgroup_size = sgsc.maxSubgroupSize;
    }
    info->storage_16bit = f16s.storageBuffer16BitAccess == VK_TRUE;
    info->shader_float16 = ext_f16i8 && f16i8.shaderFloat16;
    info->shader_int8 = ext_f16i8 && f16i8.shaderInt8;
    info->storage_8bit = ext_8bit && s8.storageBuffer8BitAccess;
    return true;
}

const char *lvk_device_type_name(VkPhysicalDeviceType type)
{
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

const char *lvk_vendor_name(uint32_t vendor_id)
{
    switch (vendor_id) {
    case 0x10de: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x8086: return "Intel";
    case 0x13b5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x106b: return "Apple";
    case 0x10005: return "Mesa";
    default: return "unknown";
    }
}

void lvk_driver_version_string(const lvk_device_info *info, char *out, size_t size)
{
    uint32_t v = info->driver_version;
    if (info->vendor_id == 0x10de) /* NVIDIA: 10.8.8.6 bits */
        snprintf(out, size, "%u.%u.%u", (v >> 22) & 0x3ff, (v >> 14) & 0xff, (v >> 6) & 0xff);
    else if (info->vendor_id == 0x8086 && info->driver_name[0] && strstr(info->driver_name, "Windows"))
        snprintf(out, size, "%u.%u", v >> 14, v & 0x3fff); /* Intel on Windows: 18.14 bits */
    else
        snprintf(out, size, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

/* ---- choosing a device --------------------------------------------------------------------- */

static bool contains_ignoring_case(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *h = hay; *h; h++) {
        size_t i = 0;
        while (i < n && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

static int type_rank(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
    }
}

bool lvk_device_choose(const lvk_instance *inst, const char *want, int *index, lvk_err *err)
{
    const char *source = "--device";
    if (!want || !*want) {
        want = lvk_getenv("LLAMA_VK_DEVICE");
        source = "LLAMA_VK_DEVICE";
    }
    if (want && *want) {
        char *end = NULL;
        long i = strtol(want, &end, 10);
        if (end && *end == '\0') {
            if (i < 0 || i >= inst->n_devices)
                return lvk_fail(err, "%s=%s: there is no device %ld (devices 0..%d; see `llama-vk --list-devices`)",
                                source, want, i, inst->n_devices - 1);
            *index = (int)i;
            return true;
        }
        for (int d = 0; d < inst->n_devices; d++) {
            if (contains_ignoring_case(inst->devices[d].name, want)) {
                *index = d;
                return true;
            }
        }
        return lvk_fail(err, "%s=%s matches no device name (see `llama-vk --list-devices`)", source, want);
    }
    int best = -1;
    for (int d = 0; d < inst->n_devices; d++) {
        if (inst->devices[d].api_version < VK_API_VERSION_1_1)
            continue;
        if (best < 0 || type_rank(inst->devices[d].type) < type_rank(inst->devices[best].type))
            best = d;
    }
    if (best < 0)
        return lvk_fail(err, "no device supports Vulkan 1.1, which llama-vk needs: update the GPU driver");
    *index = best;
    return true;
}

/* ---- the logical device -------------------------------------------------------------------- */

bool lvk_device_create(lvk_device *d, const lvk_instance *inst, int index, lvk_err *err)
{
    memset(d, 0, sizeof *d);
    d->inst = inst;
    d->info = &inst->devices[index];
    d->phys = inst->physical[index];
    const lvk_device_info *info = d->info;
    if (info->api_version < VK_API_VERSION_1_1)
        return lvk_fail(err, "device %d (%s) supports only Vulkan %u.%u; llama-vk needs 1.1: update its driver", index,
                        info->name, VK_API_VERSION_MAJOR(info->api_version), VK_API_VERSION_MINOR(info->api_version));

    uint32_t n_fam = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(d->phys, &n_fam, NULL);
    VkQueueFamilyProperties fams[16];
    if (n_fam > 16)
        n_fam = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(d->phys, &n_fam, fams);
    /* Prefer a compute queue that also does graphics: it is the main queue, with timestamps everywhere. */
    int family = -1;
    for (uint32_t f = 0; f < n_fam; f++) {
        if (!(fams[f].queueFlags & VK_QUEUE_COMPUTE_BIT))
            continue;
        if (family < 0 || (fams[f].queueFlags & VK_QUEUE_GRAPHICS_BIT))
            family = (int)f;
        if (fams[f].queueFlags & VK_QUEUE_GRAPHICS_BIT)
            break;
    }
    if (family < 0)
        return lvk_fail(err, "device %d (%s) has no compute queue", index, info->name);
    d->queue_family = (uint32_t)family;

    /* Enable the optional features the kernels may use; env switches turn them off (DESIGN §3). */
    bool want_f16 = !lvk_env_flag("LLAMA_VK_NO_FP16");
    VkPhysicalDevice16BitStorageFeatures f16s = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .storageBuffer16BitAccess = want_f16 && info->storage_16bit,
    };
    VkPhysicalDeviceShaderFloat16Int8Features f16i8 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
        .shaderFloat16 = want_f16 && info->shader_float16,
        .shaderInt8 = info->shader_int8,
    };
    VkPhysicalDeviceSubgroupSizeControlFeatures sgsc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES,
        .subgroupSizeControl = info->subgroup_size_control,
    };
    const char *exts[4];
    uint32_t n_exts = 0;
    void *chain = &f16s;
    void **tail = &f16s.pNext;
    bool v12 = info->api_version >= VK_API_VERSION_1_2 && inst->api_version >= VK_API_VERSION_1_2;
    bool v13 = info->api_version >= VK_API_VERSION_1_3 && inst->api_version >= VK_API_VERSION_1_3;
    if (f16i8.shaderFloat16 || f16i8.shaderInt8) {
        if (!v12)
            exts[n_exts++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
        *tail = &f16i8, tail = &f16i8.pNext;
    }
    if (sgsc.subgroupSizeControl) {
        if (!v13)
            exts[n_exts++] = VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME;
        *tail = &sgsc, tail = &sgsc.pNext;
    }
    if (info->memory_budget)
        exts[n_exts++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;

    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue_info = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = d->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    VkDeviceCreateInfo dev_info = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = chain,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &queue_info,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    VkResult r = vkCreateDevice(d->phys, &dev_info, NULL, &d->dev);
    if (r != VK_SUCCESS)
        return lvk_fail(err, "cannot create a Vulkan device on %s (%s)", info->name, lvk_vk_result_name(r));
    volkLoadDevice(d->dev);
    d->has_storage_16bit = f16s.storageBuffer16BitAccess;
    d->has_float16 = f16i8.shaderFloat16;
    d->has_int8 = f16i8.shaderInt8;
    d->has_subgroup_size_control = sgsc.subgroupSizeControl;
    d->has_memory_budget = info->memory_budget;
    vkGetDeviceQueue(d->dev, d->queue_family, 0, &d->queue);
    vkGetPhysicalDeviceMemoryProperties(d->phys, &d->mem);

    VkCommandPoolCreateInfo pool_info = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = d->queue_family,
    };
    r = vkCreateCommandPool(d->dev, &pool_info, NULL, &d->cmd_pool);
    if (r != VK_SUCCESS) {
        lvk_device_destroy(d);
        return lvk_fail(err, "cannot create a command pool (%s)", lvk_vk_result_name(r));
    }
    if (info->timestamps && fams[d->queue_family].timestampValidBits > 0) {
        d->n_queries = 1024;
        VkQueryPoolCreateInfo qinfo = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            .queryType = VK_QUERY_TYPE_TIMESTAMP,
            .queryCount = d->n_queries,
        };
        if (vkCreateQueryPool(d->dev, &qinfo, NULL, &d->query_pool) != VK_SUCCESS)
            d->n_queries = 0;
    }
    lvk_debug("device %d: %s, fp16 %d, 16-bit storage %d, subgroup %u (control %d)", index, info->name,
              d->has_float16, d->has_storage_16bit, info->subgroup_size, d->has_subgroup_size_control);
    return true;
}

void lvk_device_destroy(lvk_device *d)
{
    if (d->dev) {
        vkDeviceWaitIdle(d->dev);
        if (d->query_pool)
            vkDestroyQueryPool(d->dev, d->query_pool, NULL);
        if (d->cmd_pool)
            vkDestroyCommandPool(d->dev, d->cmd_pool, NULL);
        vkDestroyDevice(d->dev, NULL);
    }
    memset(d, 0, sizeof *d);
}

uint64_t lvk_device_memory_available(const lvk_device *d)
{
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 props = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
        .pNext = d->has_memory_budget ? &budget : NULL,
    };
    vkGetPhysicalDeviceMemoryProperties2(d->phys, &props);
    uint64_t best = 0;
    for (uint32_t h = 0; h < props.memoryProperties.memoryHeapCount; h++) {
        if (!(props.memoryProperties.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT))
            continue;
        uint64_t avail = props.memoryProperties.memoryHeaps[h].size;
        if (d->has_memory_budget)
            avail = budget.heapBudget[h] > budget.heapUsage[h] ? budget.heapBudget[h] - budget.heapUsage[h] : 0;
        if (avail > best)
            best = avail;
    }
    return best;
}
