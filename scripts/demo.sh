#!/usr/bin/env bash
# Runs each example program built in BUILD_DIR/examples, in name order.
set -eu
dir=$1
for exe in $(ls "$dir"/examples/ | sort); do
  p="$dir/examples/$exe"
  [ -f "$p" ] && [ -x "$p" ] || continue
  case "$exe" in *.so*) continue ;; esac
  echo "=== examples/$exe"
  (cd "$dir/examples" && "./$exe")
  echo
done
