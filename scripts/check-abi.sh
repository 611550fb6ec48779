#!/usr/bin/env bash
# The ABI check: the dynamic symbols libchook.so exports and the layout of the
# public structures must match the lists checked in under abi/.
#   scripts/check-abi.sh BUILD_DIR            compare (make test runs it through ctest)
#   scripts/check-abi.sh BUILD_DIR --update   rewrite the lists after a deliberate change
# Within a major version, symbols and structure fields are only ever added (fields
# after `size`); a removal or a moved field needs a new major version (soname).
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
lib=$(ls "$build"/libchook.so.[0-9]* 2>/dev/null | grep -E 'libchook\.so\.[0-9]+$' | head -n 1)
[ -n "$lib" ] || { echo "abi: no libchook.so.MAJOR in $build" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

nm -D --defined-only "$lib" | awk '{ print $3 }' | sort >"$work/symbols"
"$build/abi/chook_abi_structs" >"$work/structs"
major=$(sed -n 's/^CHOOK_VERSION_MAJOR //p' "$work/structs")
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')

if [ "${2:-}" = "--update" ]; then
  cp "$work/symbols" "$src/abi/chook.symbols"
  cp "$work/structs" "$src/abi/chook.structs"
  echo "abi: abi/chook.symbols and abi/chook.structs updated"
  exit 0
fi

fail=0
[ "$soname" = "libchook.so.$major" ] ||
  { echo "abi: soname is $soname, not libchook.so.$major (CHOOK_VERSION_MAJOR)" >&2; fail=1; }
internal=$(grep -v '^chook_[a-z0-9]' "$work/symbols" || true)
[ -z "$internal" ] ||
  { echo "abi: exported symbols outside the chook_* API:" $internal >&2; fail=1; }
if ! diff -u "$src/abi/chook.symbols" "$work/symbols" >"$work/symbols.diff"; then
  echo "abi: exported symbols differ from abi/chook.symbols (- listed, + exported):" >&2
  grep '^[-+][^-+]' "$work/symbols.diff" >&2
  fail=1
fi
if ! diff -u "$src/abi/chook.structs" "$work/structs" >"$work/structs.diff"; then
  echo "abi: structure layouts differ from abi/chook.structs (- listed, + built):" >&2
  grep '^[-+][^-+]' "$work/structs.diff" >&2
  fail=1
fi
if [ $fail = 1 ]; then
  echo "abi: if the change is deliberate (an addition, or a new major version), run" >&2
  echo "     scripts/check-abi.sh $build --update and commit abi/" >&2
  exit 1
fi
echo "abi: $(wc -l <"$work/symbols") symbols and $(grep -c ' ' "$work/structs") layout lines as listed; soname $soname"
