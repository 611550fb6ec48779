#!/bin/sh
# Moves the symbols of shared library $1 into a separate debug file named by its
# build-id under $2/.build-id/, then strips the library, as distributions do.
set -eu
lib=$1 root=$2
objcopy=${OBJCOPY:-objcopy}
id=$(LC_ALL=C readelf -n "$lib" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p')
[ -n "$id" ] || { echo "split-debug: $lib has no build-id" >&2; exit 1; }
dir=$root/.build-id/$(echo "$id" | cut -c1-2)
mkdir -p "$dir"
$objcopy --only-keep-debug "$lib" "$dir/$(echo "$id" | cut -c3-).debug"
$objcopy --strip-all "$lib"
