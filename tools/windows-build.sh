#!/usr/bin/env bash
# bash tools/windows-build.sh BUILD_DIR
#
# The Windows x64 build on Debian 12: every program and test cross-compiled with MinGW-w64 and
# linked statically, and the zip for users at BUILD_DIR/llama-vk-windows-x64.zip.
# Dependencies: cJSON, PCRE2, cmocka and CivetWeb are built with MinGW from Debian's source packages, at the
# versions the Linux build uses (those of the installed -dev packages), into BUILD_DIR/deps; the
# Vulkan headers and volk.c come from Debian's libvulkan-dev / libvulkan-volk-dev (plain C, the
# same on every platform). A second run reuses BUILD_DIR/deps while the versions are the same.
# Needs: gcc-mingw-w64-x86-64 cmake ninja-build glslc dpkg-dev zip, and a deb-src entry (added
# here, as root or with sudo, when apt has none).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: bash tools/windows-build.sh BUILD_DIR" >&2; exit 2; }
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
B=$(cd "$1" && pwd)
deps=$B/deps
jobs=${LLAMAVK_JOBS:-2}
t0=$(date +%s)

# ---- dependencies ---------------------------------------------------------------------------
# The Linux build's versions: Debian source package name and version of each installed -dev package.
declare -A pkg_of=([cjson]=libcjson-dev [pcre2]=libpcre2-dev [cmocka]=libcmocka-dev [civetweb]=libcivetweb-dev)
stamp="toolchain $(x86_64-w64-mingw32-gcc -dumpfullversion) $(md5sum <"$src/cmake/mingw-w64-x86_64.cmake" | cut -c1-8)
script $(sed -n '/^# ---- dependencies/,/^# ---- end of dependencies/p' "$0" | md5sum | cut -c1-8)"
declare -A ver
for s in cjson pcre2 cmocka civetweb; do
  ver[$s]=$(dpkg-query -W -f='${Version}' "${pkg_of[$s]}")
  stamp+=$'\n'"$s ${ver[$s]}"
done

if [ -f "$deps/stamp" ] && [ "$(cat "$deps/stamp")" = "$stamp" ]; then
  echo "windows-build: dependencies from $deps (cached)"
else
  rm -rf "$deps" "$B/deps-src"
  mkdir -p "$deps/include" "$B/deps-src"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  if ! apt-get source --print-uris -qq cjson >/dev/null 2>&1; then
    echo "windows-build: adding a deb-src entry for Debian 12 (apt-get source needs one)"
    $SUDO tee /etc/apt/sources.list.d/debian-src.sources >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    $SUDO apt-get update -qq
  fi
  for s in cjson pcre2 cmocka civetweb; do
    v=${ver[$s]}
    dir=$B/deps-src/$s
    mkdir -p "$dir"
    # The exact Debian revision; if the archive no longer serves it (a security update that a point
    # release superseded), the newest source of the same upstream version, said out loud.
    if ! (cd "$dir" && apt-get source -qq --download-only "$s=$v" >/dev/null 2>&1); then
      up=${v%-*}
      got=""
      for alt in $(apt-cache showsrc "$s" | sed -n 's/^Version: //p' | grep "^$up-" | sort -rV | grep -vxF "$v"); do
        if (cd "$dir" && apt-get source -qq --download-only "$s=$alt" >/dev/null 2>&1); then got=$alt; break; fi
      done
      [ -n "$got" ] || { echo "windows-build: no source for $s $v (nor upstream $up) in the archive" >&2; exit 1; }
      echo "windows-build: $s $v: its source is not in the archive, using $got (the same upstream $up)"
      alt=$got
      ver[$s]=$alt
    fi
    (cd "$dir" && dpkg-source -x -q --no-check ./*.dsc tree >/dev/null)
  done
  # Release build, static libraries only, no tests or extra programs.
  dep_cmake() {
    cmake -Wno-dev -Wno-deprecated -S "$1" -B "$1/build-mingw" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_TOOLCHAIN_FILE="$src/cmake/mingw-w64-x86_64.cmake" -DCMAKE_INSTALL_PREFIX="$deps" \
      -DBUILD_SHARED_LIBS=OFF "${@:2}" >/dev/null
    ninja -C "$1/build-mingw" -j "$jobs" install >/dev/null
  }
  dep_cmake "$B/deps-src/cjson/tree" -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF \
    -DENABLE_CUSTOM_COMPILER_FLAGS=OFF -DENABLE_LOCALES=ON
  dep_cmake "$B/deps-src/pcre2/tree" -DBUILD_STATIC_LIBS=ON -DPCRE2_BUILD_PCRE2_8=ON -DPCRE2_SUPPORT_UNICODE=ON \
    -DPCRE2_SUPPORT_JIT=ON -DPCRE2_BUILD_PCRE2GREP=OFF -DPCRE2_BUILD_TESTS=OFF -DPCRE2_SHOW_REPORT=OFF
  # cmocka 1.1.5 always builds its DLL; WITH_STATIC_LIB adds libcmocka-static.a. Keep only the
  # static one, under the name its pkg-config file links (-lcmocka), and drop its CMake file,
  # which names the DLL.
  dep_cmake "$B/deps-src/cmocka/tree" -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF
  rm -rf "$deps"/bin/libcmocka*.dll "$deps"/lib/libcmocka.dll.a "$deps"/lib/cmake/cmocka
  mv "$deps/lib/libcmocka-static.a" "$deps/lib/libcmocka.a"
  # CivetWeb, for llama-vk-server: its one C file as a static library (its CMake project wants C++),
  # without TLS or CGI.
  cw=$B/deps-src/civetweb/tree
  x86_64-w64-mingw32-gcc -O2 -w -DNO_SSL -DNO_CGI -DNO_CACHING -I"$cw/include" -c "$cw/src/civetweb.c" \
    -o "$cw/civetweb.o"
  x86_64-w64-mingw32-ar rcs "$deps/lib/libcivetweb.a" "$cw/civetweb.o"
  cp "$cw/include/civetweb.h" "$deps/include/"
  # Vulkan headers and volk: copies, so that no host include folder is ever on the Windows path.
  cp -r /usr/include/vulkan /usr/include/vk_video "$deps/include/"
  cp /usr/include/volk.h /usr/include/volk.c "$deps/include/"
  mkdir -p "$deps/licenses"
  cp "$B/deps-src/cjson/tree/LICENSE" "$deps/licenses/cJSON-LICENSE"
  cp "$B/deps-src/pcre2/tree/LICENCE" "$deps/licenses/PCRE2-LICENCE"
  cp "$B/deps-src/civetweb/tree/LICENSE.md" "$deps/licenses/CivetWeb-LICENSE.md"
  { echo "$stamp" | sed -n '1,2p'
    for s in cjson pcre2 cmocka civetweb; do echo "$s ${ver[$s]}"; done; } >"$deps/versions.txt"
  echo "$stamp" >"$deps/stamp"
  echo "windows-build: dependencies built in $(( $(date +%s) - t0 )) s"
fi
# ---- end of dependencies --------------------------------------------------------------------

# ---- the project ----------------------------------------------------------------------------
# Vulkan_LIBRARY: FindVulkan insists on a loader library, which nothing links (volk opens
# vulkan-1.dll at run time); the name satisfies it. The emulator lets ctest run the .exe files
# through Wine (tools/windows-test.sh).
cmake -S "$src" -B "$B/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$src/cmake/mingw-w64-x86_64.cmake" -DCMAKE_FIND_ROOT_PATH="$deps" \
  -DVulkan_INCLUDE_DIR="$deps/include" -DVulkan_LIBRARY=vulkan-1 -DPCRE2_USE_STATIC_LIBS=ON \
  -DCMAKE_CROSSCOMPILING_EMULATOR="$src/tools/wine-run.sh" >/dev/null
ninja -C "$B/build" -j "$jobs"

# ---- the zip --------------------------------------------------------------------------------
# The programs (not the tests), the whole configs/ folder (demo models included once they are
# there), README-windows.txt, the licences. Static linking leaves no DLL
# to ship; the check below fails the build if one ever appears.
stage=$B/zip/llama-vk-windows-x64
rm -rf "$B/zip" "$B/llama-vk-windows-x64.zip"
mkdir -p "$stage"
for exe in "$B"/build/*.exe; do
  cp "$exe" "$stage/"
  dlls=$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/^\s*DLL Name: //p' | tr 'A-Z' 'a-z' | sort -u)
  extra=$(echo "$dlls" | grep -vxE 'kernel32\.dll|msvcrt\.dll|shell32\.dll|user32\.dll|advapi32\.dll|ws2_32\.dll|api-ms-win-.*' || true)
  [ -z "$extra" ] || { echo "windows-build: $(basename "$exe") needs DLLs the zip lacks: $extra" >&2; exit 1; }
done
cp -r "$src/configs" "$stage/configs"
# Text files with CRLF, for Notepad. The licences of what the programs link statically go along.
crlf() { sed 's/\r*$/\r/' "$1" >"$2"; }
crlf "$src/tools/README-windows.txt" "$stage/README-windows.txt"
crlf "$src/LICENSE" "$stage/LICENSE.txt"
mkdir -p "$stage/third-party"
crlf "$deps/versions.txt" "$stage/third-party/versions.txt"
crlf "$deps/licenses/cJSON-LICENSE" "$stage/third-party/cJSON-LICENSE.txt"
crlf "$deps/licenses/PCRE2-LICENCE" "$stage/third-party/PCRE2-LICENCE.txt"
crlf "$deps/licenses/CivetWeb-LICENSE.md" "$stage/third-party/CivetWeb-LICENSE.txt"
crlf /usr/share/doc/libvulkan-volk-dev/copyright "$stage/third-party/volk-copyright.txt"
(cd "$B/zip" && zip -q -r -X "$B/llama-vk-windows-x64.zip" llama-vk-windows-x64)
echo "windows-build: $B/llama-vk-windows-x64.zip ($(du -k "$B/llama-vk-windows-x64.zip" | cut -f1) KiB) in $(( $(date +%s) - t0 )) s"
