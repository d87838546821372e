/* `--list-devices`: what every Vulkan device offers, as a table or as JSON. */
#ifndef LVK_VK_DEVICE_REPORT_H
#define LVK_VK_DEVICE_REPORT_H
#include <stdio.h>

#include "vk/context.h"

void lvk_print_devices(FILE *out, const lvk_instance *inst);
/* A JSON array of objects; returns false when out of memory. */
bool lvk_print_devices_json(FILE *out, const lvk_instance *inst);

#endif
