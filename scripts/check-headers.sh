#!/usr/bin/env bash
# Every public header compiles alone, first thing in a translation unit, as C and
# as C++, with -Wall -Wextra -Werror -Wpedantic: each includes what it needs.
#   scripts/check-headers.sh [CC [CXX]]   (make test runs it through ctest)
set -euo pipefail
cc=${1:-cc}
cxx=${2:-c++}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(-Wall -Wextra -Werror -Wpedantic -fsyntax-only -I"$work/include")
mkdir -p "$work/include"
ln -s "$src/include" "$work/include/chook"   # the installed spelling, <chook/X.h>
fail=0 n=0
for h in "$src"/include/*.h "$src"/include/*.hpp; do
  name=$(basename "$h")
  if [ "${name##*.}" = h ]; then
    for std in c11 gnu11; do
      printf '#include <chook/%s>\nint chook_header_check_%s;\n' "$name" "$std" >"$work/t.c"
      "$cc" -std=$std "${flags[@]}" "$work/t.c" 2>"$work/err" ||
        { echo "headers: $name does not compile alone as C ($std):" >&2; cat "$work/err" >&2; fail=1; }
      n=$((n + 1))
    done
  fi
  for std in c++11 c++17; do
    printf '#include <chook/%s>\nint chook_header_check;\n' "$name" >"$work/t.cpp"
    if [ "${name##*.}" = hpp ] && [ $std = c++11 ]; then continue; fi
    "$cxx" -std=$std "${flags[@]}" "$work/t.cpp" 2>"$work/err" ||
      { echo "headers: $name does not compile alone as C++ ($std):" >&2; cat "$work/err" >&2; fail=1; }
    n=$((n + 1))
  done
done
[ $fail = 0 ] || exit 1
echo "headers: $n compilations of $(ls "$src"/include/*.h "$src"/include/*.hpp | wc -l) headers alone, C and C++, clean"
