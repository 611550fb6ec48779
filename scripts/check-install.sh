#!/usr/bin/env bash
# Installs the library from BUILD_DIR into a scratch prefix, then builds and runs a
# program against it twice: with pkg-config, and with CMake's find_package(chook).
set -euo pipefail
build=$1
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/ | head -n 1)
[ ! -e "$prefix/include/chook.h" ] || { echo "install: headers installed flat in include/" >&2; exit 1; }
for f in include/chook/chook.h include/chook/chook_base.h include/chook/chook_hook.h include/chook/chook_intercept.h \
         include/chook/chook_typed.h include/chook/chook_symbols.h include/chook/chook_slots.h include/chook/chook_point.h include/chook/chook.hpp "${libdir#$prefix/}libchook.so" "${libdir#$prefix/}libchook.a" \
         "${libdir#$prefix/}pkgconfig/chook.pc" "${libdir#$prefix/}cmake/chook/chookConfig.cmake" \
         bin/chook-corpus; do
  [ -e "$prefix/$f" ] || { echo "install: missing $f" >&2; exit 1; }
done
LD_LIBRARY_PATH="$libdir" "$prefix/bin/chook-corpus" --version | grep -q '^chook-corpus [0-9]' ||
  { echo "install: bin/chook-corpus --version failed" >&2; exit 1; }

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -o "$work/with_pkgconfig" examples/hook_puts.c $(pkg-config --cflags --libs chook) \
   -Wl,-rpath,"$libdir"
"$work/with_pkgconfig" | grep -q '\[hooked\]'

mkdir -p "$work/cm"
cp examples/hook_puts.c "$work/cm/"
cat > "$work/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(uses_chook C)
find_package(chook REQUIRED)
add_executable(with_cmake hook_puts.c)
target_link_libraries(with_cmake PRIVATE chook::chook)
CM
cmake -S "$work/cm" -B "$work/cm/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cm/build" >/dev/null
"$work/cm/build/with_cmake" | grep -q '\[hooked\]'
echo "install: header, libraries, tools, pkg-config and CMake package work"
