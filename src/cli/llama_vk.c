#include "base/platform.h"
#include <stdio.h>
static int run(int argc, char **argv) { (void)argc; (void)argv; puts("llama-vk"); return 0; }
int main(int argc, char **argv) { return lvk_run_main(argc, argv, run); }
