/* Failure injection, for tests of the error paths that a healthy machine never takes.
 * LLAMA_VK_FAIL="SITE:K[,SITE:K...]" makes the K-th pass (counting from 1) through lvk_fault("SITE")
 * report a failure, which the caller turns into its ordinary error. K = 0 fails nothing and, at exit,
 * prints "LLAMA_VK_FAIL: SITE passed N times" to stderr: the number of K a test has to try. Sites:
 *   device-alloc  every device memory allocation (src/vk/memory.c)
 *   host-alloc    every host memory allocation in src/ and cJSON's (src/base/alloc.c)
 *   step          every forward step of the model, where it submits to the device (src/model/)
 * Not thread-safe: the counters are plain statics, which is enough for single-threaded test runs. */
#ifndef LVK_BASE_FAULT_H
#define LVK_BASE_FAULT_H
#include <stdbool.h>

bool lvk_fault(const char *site);

#endif
