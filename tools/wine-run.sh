#!/usr/bin/env bash
# Runs a Windows program through Wine: CMAKE_CROSSCOMPILING_EMULATOR of the Windows build, so
# that ctest can run the .exe files (tools/windows-test.sh sets WINEPREFIX and starts Wine once).
# A UTF-8 locale, so that Wine reads the Unix command line (Chinese prompts, non-ASCII paths) as
# UTF-8 when it makes the wide Windows command line.
export WINEPREFIX=${WINEPREFIX:-$HOME/.wine-llama-vk}
export WINEDEBUG=${WINEDEBUG:--all}
export LC_ALL=C.UTF-8
exec wine "$@"
