#!/usr/bin/env bash
# Instructions per call added by each interception variant over a direct call,
# counted by callgrind (independent of the machine's load).
# Usage: scripts/bench-icount.sh [BUILD_DIR] [VARIANT...]   (default: build, all)
# Each variant runs alone (bench_intercept --only) for two numbers of calls; the
# difference, divided by the difference in calls, is one direct call plus one
# intercepted call (each round also times the direct call), so two direct calls
# (measured the same way with --only direct) are subtracted.
# --smc-check=all: chook writes code through /proc/self/mem, which valgrind
# otherwise does not notice.
set -eu
dir=${1:-build}; [ $# -gt 0 ] && shift
bin="$dir/bench/bench_intercept"
[ -x "$bin" ] || { echo "bench-icount: $bin not built" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "bench-icount: valgrind not installed" >&2; exit 1; }
variants=${*:-"empty_enter empty_enter_leave empty_enter_leave_signature enter_read_arg_leave_rewrite_ret two_listeners_empty_enter_leave typed typed_fixed closure_replacement keep_regs_replacement"}
out=$(mktemp); trap 'rm -f "$out"' EXIT
count() { # variant calls -> total instructions
  valgrind --tool=callgrind --smc-check=all --callgrind-out-file="$out" \
    "$bin" --only "$1" --rounds 1 --calls "$2" >/dev/null 2>&1
  awk '/^totals:/ { print $2 }' "$out"
}
per_call() { a=$(count "$1" 10000); b=$(count "$1" 30000); echo $(( (b - a) / 20000 )); }
direct=$(per_call direct)
printf '  %-40s %6s\n' "variant" "instructions added per call"
for v in $variants; do
  t=$(per_call "$v")
  printf '  %-40s %6d\n' "$v" $(( t - 2 * direct ))
done
