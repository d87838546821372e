# Cross-compiling for 64-bit Windows with Debian's MinGW-w64 (gcc-mingw-w64-x86-64).
# tools/windows-build.sh passes this file as CMAKE_TOOLCHAIN_FILE and puts its dependency prefix
# (cJSON, PCRE2, cmocka built with MinGW, the Vulkan headers and volk) in CMAKE_FIND_ROOT_PATH.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)

list(APPEND CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
# Host tools (glslc) from the host; headers and libraries only from the Windows prefixes, so
# nothing from /usr/include (glibc's headers) leaks into the Windows build.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Static libgcc and libwinpthread (and the static dependency libraries): the .exe files then
# need only DLLs every Windows has (KERNEL32, msvcrt, SHELL32), plus vulkan-1.dll, which volk
# opens at run time and which comes with every GPU driver.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
