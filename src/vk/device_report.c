#include "vk/device_report.h"

#include <stdlib.h>

#include <cjson/cJSON.h>

#include "base/alloc.h"

static double gib(uint64_t bytes) { return (double)bytes / (1024.0 * 1024.0 * 1024.0); }

static const char *yes_no(bool b) { return b ? "yes" : "no"; }

void lvk_print_devices(FILE *out, const lvk_instance *inst)
{
    for (int i = 0; i < inst->n_devices; i++) {
        const lvk_device_info *d = &inst->devices[i];
        char driver_version[32];
        lvk_driver_version_string(d, driver_version, sizeof driver_version);
        fprintf(out, "[%d] %s\n", d->index, d->name);
        fprintf(out, "    type %s, vendor %s (0x%04x), device 0x%04x, Vulkan %u.%u.%u\n", lvk_device_type_name(d->type),
                lvk_vendor_name(d->vendor_id), d->vendor_id, d->device_id, VK_API_VERSION_MAJOR(d->api_version),
                VK_API_VERSION_MINOR(d->api_version), VK_API_VERSION_PATCH(d->api_version));
        fprintf(out, "    driver %s %s%s%s\n", d->driver_name[0] ? d->driver_name : "(unnamed)", driver_version,
                d->driver_info[0] ? ", " : "", d->driver_info);
        fprintf(out, "    memory: device-local %.2f GiB, host-visible %.2f GiB%s\n", gib(d->device_local_bytes),
                gib(d->host_visible_bytes), d->unified_memory ? " (unified)" : "");
        for (uint32_t h = 0; h < d->n_heaps; h++)
            fprintf(out, "      heap %u: %.2f GiB%s\n", h, gib(d->heaps[h].size),
                    d->heaps[h].device_local ? " device-local" : "");
        fprintf(out, "    maxStorageBufferRange %llu, maxMemoryAllocationSize %llu, maxBufferSize %llu\n",
                (unsigned long long)d->max_storage_buffer_range, (unsigned long long)d->max_memory_allocation_size,
                (unsigned long long)d->max_buffer_size);
        fprintf(out, "    workgroup: max %u invocations, %u B shared memory; subgroup %u (%u..%u%s)\n",
                d->max_workgroup_invocations, d->max_shared_memory, d->subgroup_size, d->min_subgroup_size,
                d->max_subgroup_size, d->subgroup_size_control ? ", size control" : "");
        fprintf(out, "    fp16 %s, 16-bit storage %s, int8 %s, cooperative matrix %s, bf16 %s, timestamps %s\n",
                yes_no(d->shader_float16), yes_no(d->storage_16bit), yes_no(d->shader_int8),
                yes_no(d->cooperative_matrix), yes_no(d->bfloat16), yes_no(d->timestamps));
    }
}

/* cJSON_AddItemToArray, freeing the item when it cannot be added (the array is NULL: out of host memory) */
static void add_item(cJSON *array, cJSON *item)
{
    if (!cJSON_AddItemToArray(array, item))
        cJSON_Delete(item);
}

bool lvk_print_devices_json(FILE *out, const lvk_instance *inst)
{
    unsigned long failures = lvk_alloc_failures(); /* a tree built short prints as valid JSON */
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return false;
    for (int i = 0; i < inst->n_devices; i++) {
        const lvk_device_info *d = &inst->devices[i];
        cJSON *o = cJSON_CreateObject();
        add_item(arr, o);
        char buf[64];
        cJSON_AddNumberToObject(o, "index", d->index);
        cJSON_AddStringToObject(o, "name", d->name);
        cJSON_AddStringToObject(o, "type", lvk_device_type_name(d->type));
        cJSON_AddStringToObject(o, "vendor", lvk_vendor_name(d->vendor_id));
        cJSON_AddNumberToObject(o, "vendor_id", d->vendor_id);
        cJSON_AddNumberToObject(o, "device_id", d->device_id);
        cJSON_AddStringToObject(o, "driver", d->driver_name);
        cJSON_AddStringToObject(o, "driver_info", d->driver_info);
        lvk_driver_version_string(d, buf, sizeof buf);
        cJSON_AddStringToObject(o, "driver_version", buf);
        snprintf(buf, sizeof buf, "%u.%u.%u", VK_API_VERSION_MAJOR(d->api_version), VK_API_VERSION_MINOR(d->api_version),
                 VK_API_VERSION_PATCH(d->api_version));
        cJSON_AddStringToObject(o, "api_version", buf);
        cJSON *heaps = cJSON_AddArrayToObject(o, "heaps");
        for (uint32_t h = 0; h < d->n_heaps; h++) {
            cJSON *ho = cJSON_CreateObject();
            cJSON_AddNumberToObject(ho, "size", (double)d->heaps[h].size);
            cJSON_AddBoolToObject(ho, "device_local", d->heaps[h].device_local);
            add_item(heaps, ho);
        }
        cJSON_AddNumberToObject(o, "device_local_bytes", (double)d->device_local_bytes);
        cJSON_AddNumberToObject(o, "host_visible_bytes", (double)d->host_visible_bytes);
        cJSON_AddBoolToObject(o, "unified_memory", d->unified_memory);
        cJSON_AddNumberToObject(o, "max_storage_buffer_range", (double)d->max_storage_buffer_range);
        cJSON_AddNumberToObject(o, "max_memory_allocation_size", (double)d->max_memory_allocation_size);
        cJSON_AddNumberToObject(o, "max_buffer_size", (double)d->max_buffer_size);
        cJSON_AddNumberToObject(o, "max_workgroup_invocations", d->max_workgroup_invocations);
        cJSON_AddNumberToObject(o, "max_shared_memory", d->max_shared_memory);
        cJSON_AddNumberToObject(o, "subgroup_size", d->subgroup_size);
        cJSON_AddNumberToObject(o, "min_subgroup_size", d->min_subgroup_size);
        cJSON_AddNumberToObject(o, "max_subgroup_size", d->max_subgroup_size);
        cJSON *f = cJSON_AddObjectToObject(o, "features");
        cJSON_AddBoolToObject(f, "fp16", d->shader_float16);
        cJSON_AddBoolToObject(f, "storage_16bit", d->storage_16bit);
        cJSON_AddBoolToObject(f, "int8", d->shader_int8);
        cJSON_AddBoolToObject(f, "storage_8bit", d->storage_8bit);
        cJSON_AddBoolToObject(f, "cooperative_matrix", d->cooperative_matrix);
        cJSON_AddBoolToObject(f, "bf16", d->bfloat16);
        cJSON_AddBoolToObject(f, "subgroup_size_control", d->subgroup_size_control);
        cJSON_AddBoolToObject(f, "buffer_device_address", d->buffer_device_address);
        cJSON_AddBoolToObject(f, "memory_budget", d->memory_budget);
        cJSON_AddBoolToObject(f, "timestamps", d->timestamps);
    }
    char *text = cJSON_Print(arr);
    cJSON_Delete(arr);
    if (!text || lvk_alloc_failures() != failures) {
        cJSON_free(text);
        return false;
    }
    fprintf(out, "%s\n", text);
    cJSON_free(text);
    return true;
}
