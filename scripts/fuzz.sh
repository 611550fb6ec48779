#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz/ for the given number of seconds each.
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
dir=$1; secs=$2
n=0
for src in tests/fuzz/*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  corpus="$dir/corpus-$name"; mkdir -p "$corpus"
  echo "fuzz: $name for ${secs}s"
  ASAN_OPTIONS=detect_leaks=1 "$dir/tests/$name" -max_total_time="$secs" -print_final_stats=1 \
      -artifact_prefix="$dir/" "$corpus" 2>&1 | tail -n 12
  n=$((n+1))
done
echo "fuzz: $n target(s) ran without a finding"
