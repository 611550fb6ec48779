#!/usr/bin/env bash
# Whole-program pass-through test: runs real programs twice, unhooked and with
# the agent (tests/wholeprog/agent.c, preloaded) attaching an empty on_enter and
# on_leave listener to every function of one module (every export of libc.so.6
# or libstdc++.so.6, or every function of the program's own executable), and
# checks that
#   - stdout, stderr and the exit status are byte for byte the same;
#   - every process that exited through exit() reported, with no mismatched
#     leave (a leave with no entered call, or per-call data changed), no lost
#     thread and no shadow-stack overflow;
#   - in each report enters = leaves + abandoned + open, and only functions
#     known to leave by longjmp or exception (abandoned) or never to return
#     (open at exit) have such calls.
# It prints attached/total functions and the slowdown of each program.
#
# Usage: scripts/wholeprog.sh [--short|--long] [--waiting] [--only REGEX] [--keep] BUILD_DIR
#   --short    a few programs, a few rounds (make test)
#   --long     every program, more rounds (make stress; the default)
#   --waiting  also run the cases of WAITING below (they fail until their fix lands)
#   --only     run only the cases whose name matches REGEX
#   --keep     keep the work directory (outputs and reports) and print its path
set -uo pipefail

mode=long; waiting=0; only=.; keep=0
while [ $# -gt 1 ]; do
  case $1 in
    --short) mode=short ;;
    --long) mode=long ;;
    --waiting) waiting=1 ;;
    --only) only=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "wholeprog: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ $# = 1 ] || { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
src=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/tests/wholeprog
agent=$bin/wp_agent.so
for f in "$agent" "$bin/wp_forkexec" "$bin/wp_cxx" "$bin/wp_gen_ipa_ra" "$bin/wp_gen_no_ipa_ra"; do
  [ -e "$f" ] || { echo "wholeprog: $f is missing (build the tests first)" >&2; exit 2; }
done
for tool in tar gzip sort awk bash cmp; do
  command -v $tool >/dev/null || { echo "wholeprog: $tool is missing" >&2; exit 2; }
done

# ---- cases waiting for a fix ---------------------------------------------------
# WAITING: per case, the functions (comma-separated fnmatch patterns, matched
# against every name of a function) not attached until the engine handles them,
# each with its finding (F-numbers of the whole-program notes). A case runs
# with these excluded, unless --waiting is given: then everything is attached.
# Remove an entry once its fix is merged and the case passes with --waiting.
#
# Fixed on main and no longer listed (chook now refuses them with a status the
# agent records, or handles them): F1 memcpy/memmove (mempcpy jumps to +3:
# CHOOK_EBRANCHIN), F2 setjmp/_setjmp/__sigsetjmp/vfork/getcontext/swapcontext
# (CHOOK_ENOLEAVE), F3 _start (CHOOK_ENOLEAVE), F4 stack arguments past 64
# bytes, F5 -fipa-ra callers, F7 the unwinder's libc calls (pthread_once,
# _dl_find_object...) recursing into the dispatcher.
#
# F6 (a GCC ".cold" part took listeners: CHOOK_ENOTSUP now), F8 (a cached
# stack window read past the top of a stack) and F9 (chook_attach_pattern()
# stopped at the first CHOOK_ENOLEAVE: such functions are reported and the
# others attached now) are fixed too.
declare -A WAITING=()

# Functions allowed to have calls that never leave.
# libc: never return (exit, exec, longjmp, abort...) or unwind through a callback.
NORETURN_LIBC='^(exit|_exit|_Exit|quick_exit|abort|__libc_start_main|execve|execv|execvp|execvpe|execl|execlp|execle|fexecve|execveat|_longjmp|longjmp|siglongjmp|__longjmp_chk|pthread_exit|__pthread_exit|__assert_fail|__assert_perror_fail|__stack_chk_fail|__chk_fail|__fortify_fail|error|error_at_line|err|errx|verr|verrx|setcontext|__libc_siglongjmp|__libc_longjmp)$'
# libstdc++: the functions that throw (std::__throw_*, __cxa_throw...).
NORETURN_CXX='^(__cxa_throw|__cxa_rethrow|__cxa_call_terminate|_ZSt9terminatev|_ZSt17rethrow_exceptionNSt15__exception_ptr13exception_ptrE|_ZSt[0-9]+__throw_[a-z_]+.*|_ZNSt15__exception_ptr13exception_ptr[A-Za-z0-9_]*|_ZSt20__throw_future_errori|_ZNK10__cxxabiv[0-9].*)$'
# The generated program: unwinds_* are left by longjmp; _start never returns.
NORETURN_GEN='^(unwinds_(deep|sig)_[0-9]+|_start)$'

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wholeprog.XXXXXX")
if [ $keep = 1 ]; then
  echo "wholeprog: keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi
passed=0; failed=0; summary=()

# run_case NAME MODULE EXE_FILTER ALLOWED COMMAND...   ($SETUP runs before each run;
#   $API=pattern attaches with one chook_attach_pattern() call)
#   MODULE      libc.so.6, libstdc++.so.6, or "" for the program's own executable
#   EXE_FILTER  only processes whose executable has this file name attach ("" = all)
#   ALLOWED     regex of the functions that may leave by longjmp/exception or never
run_case() {
  local name=$1 module=$2 exe=$3 allowed=$4; shift 4
  [[ $name =~ $only ]] || return 0
  local exclude=""
  [ $waiting = 0 ] && exclude=${WAITING[$name]:-}
  local d=$tmp/$name; mkdir -p "$d/rep"
  local rc_plain rc_hooked TIMEFORMAT='%3R %3U %3S'
  # The same working directory (emptied) for both runs: paths in the output match.
  rm -rf "$tmp/work"; mkdir -p "$tmp/work"
  (cd "$tmp/work" && $SETUP)
  { time (cd "$tmp/work" && "$@" >"$d/out.plain" 2>"$d/err.plain" </dev/null); } 2>"$d/time.plain"
  rc_plain=$?
  rm -rf "$tmp/work"; mkdir -p "$tmp/work"
  (cd "$tmp/work" && $SETUP)
  { time (cd "$tmp/work" && CHOOK_WP_MODULE=$module CHOOK_WP_OUT=$d/rep/r CHOOK_WP_EXE=$exe CHOOK_WP_API=$API \
     CHOOK_WP_EXCLUDE=$exclude LD_PRELOAD=$agent "$@" >"$d/out.hooked" 2>"$d/err.hooked" </dev/null); } 2>"$d/time.hooked"
  rc_hooked=$?

  local problems=()
  [ $rc_plain = $rc_hooked ] || problems+=("exit status $rc_hooked, unhooked $rc_plain")
  cmp -s "$d/out.plain" "$d/out.hooked" || problems+=("stdout differs: $(diff "$d/out.plain" "$d/out.hooked" | head -n 4 | tr '\n' ' ')")
  cmp -s "$d/err.plain" "$d/err.hooked" || problems+=("stderr differs: $(diff "$d/err.plain" "$d/err.hooked" | head -n 4 | tr '\n' ' ')")
  local reports=("$d"/rep/r.*)
  if [ ! -e "${reports[0]}" ]; then
    problems+=("no process reported")
    reports=()
  fi
  # Every report: complete, consistent, and only the allowed functions unfinished.
  local r check
  for r in "${reports[@]}"; do
    check=$(awk -v allowed="$allowed" -v file="${r##*/}" '
      $1 == "end" { complete = 1 }
      $1 == "pattern_attached" { pattern = $2 }
      $1 == "attached" { attached = $2 }
      $1 ~ /^(enters|leaves|abandoned|open|mismatch|overflow|lost_threads|attached)$/ { v[$1] = $2 }
      $1 == "exe" { exe = $2 }
      $1 == "fn" {
        if ($11 + 0 > 0) printf "%s (%s): %s has %s mismatched leaves\n", file, exe, $2, $11
        if (($7 + $9 > 0) && $2 !~ allowed)
          printf "%s (%s): %s left %s calls by unwinding and %s are still open (enters %s, leaves %s)\n", file, exe, $2, $7, $9, $3, $5
      }
      END {
        if (!complete) { printf "%s: incomplete report\n", file; exit }
        if (v["mismatch"] + v["overflow"] + v["lost_threads"] > 0)
          printf "%s (%s): mismatch %d overflow %d lost threads %d\n", file, exe, v["mismatch"], v["overflow"], v["lost_threads"]
        if (pattern != "" && pattern != attached)
          printf "%s (%s): chook_attach_pattern attached %d listeners but reported %d attached\n", file, exe, pattern, attached
        if (v["enters"] != v["leaves"] + v["abandoned"] + v["open"])
          printf "%s (%s): enters %d != leaves %d + abandoned %d + open %d\n", file, exe, v["enters"], v["leaves"], v["abandoned"], v["open"]
      }' "$r")
    [ -n "$check" ] && problems+=("$check")
  done

  # Figures: the first process (the program started), and every process.
  local first="" attached="-" total="-" enters=0 leaves=0 procs=${#reports[@]}
  [ $procs -gt 0 ] && first=$(ls -1 "$d"/rep/r.* | sort -t. -k2 -n | head -n 1)
  if [ -n "$first" ]; then
    attached=$(awk '$1 == "attached" { print $2 }' "$first")
    total=$(awk '$1 == "functions" { print $2 }' "$first")
  fi
  local attach_sum=0 attachers=0 a
  for r in "${reports[@]}"; do
    enters=$((enters + $(awk '$1 == "enters" { print $2 }' "$r")))
    leaves=$((leaves + $(awk '$1 == "leaves" { print $2 }' "$r")))
    a=$(awk '$1 == "forked" && $2 == 0 { x = 1 } $1 == "attach_ms" && x { printf "%d", $2 }' "$r")
    [ -n "$a" ] && attach_sum=$((attach_sum + a)) && attachers=$((attachers + 1))
  done
  # Wall-clock and CPU (user + system, children included) time of both runs:
  # on a loaded machine the CPU time is the steadier figure.
  local wall_p wall_h cpu_p cpu_h slow cpu_slow line
  # (The last line: a crash message from the shell may come before it.)
  read -r wall_p cpu_p < <(tail -n 1 "$d/time.plain" | awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }')
  read -r wall_h cpu_h < <(tail -n 1 "$d/time.hooked" | awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }')
  slow=$(awk -v a="$wall_h" -v b="$wall_p" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
  cpu_slow=$(awk -v a="$cpu_h" -v b="$cpu_p" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
  line=$(printf '%-18s %-14s attached %4s/%-4s wall %5d -> %6d ms x%-5s cpu %5d -> %6d ms x%-5s attach %4d ms/proc %3d procs %9d enters %9d leaves' \
    "$name" "${module:-executable}" "$attached" "$total" "$wall_p" "$wall_h" "$slow" "$cpu_p" "$cpu_h" "$cpu_slow" \
    $((attachers > 0 ? attach_sum / attachers : 0)) $procs $enters $leaves)
  if [ ${#problems[@]} = 0 ]; then
    passed=$((passed + 1)); summary+=("PASS $line")
    echo "PASS $line"
  else
    failed=$((failed + 1)); summary+=("FAIL $line")
    echo "FAIL $line"
    printf '     %s\n' "${problems[@]}" | head -n 20
  fi
  if [ -n "$first" ] && grep -q '^refuse ' "$first"; then
    echo "     refused by chook: $(awk '$1 == "refuse" { printf "%s (%s) ", $2, $3 }' "$first")"
  fi
  [ -n "$exclude" ] && echo "     not attached, waiting for a fix: $exclude"
  return 0
}

if [ $mode = short ]; then R=1; TAR_FILES=20; SORT_LINES=5000; FE=1; CXX=2; GEN=2
else R=4; TAR_FILES=400; SORT_LINES=400000; FE=20; CXX=8; GEN=20; fi
SETUP=true API=

# The tree to archive: made once, unhooked, and copied into the (emptied)
# working directory before each run (SETUP), so both runs see the same files.
prepare_tree() {
  mkdir -p "$tmp/tree/sub/deeper"
  local i j line
  for ((i = 0; i < TAR_FILES; i++)); do
    line=""
    for ((j = 0; j < i % 50 + 2; j++)); do line+="$((i * 37 + j))"$'\n'; done
    printf '%s' "$line" > "$tmp/tree/f$i.txt"
    [ $((i % 5)) = 0 ] && printf "%0$((i * 100 + 1))d" 0 > "$tmp/tree/sub/z$i.bin"
    [ $((i % 7)) = 0 ] && ln -sf "../../f$i.txt" "$tmp/tree/sub/deeper/l$i"
  done
  touch -h -d '2020-01-02 03:04:05' "$tmp/tree" "$tmp/tree"/* "$tmp/tree/sub"/* "$tmp/tree/sub/deeper"/*
}
copy_tree() { cp -a "$tmp/tree" tree; }
export SORT_LINES

# Round trips through tar and gzip (tar runs gzip itself for -z).
tar_gzip() {
  bash -c 'tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=2020-01-01 -czf a.tgz tree
    mkdir out && tar -xzf a.tgz -C out && diff -r tree out/tree && echo round trip ok
    gzip -dc a.tgz | md5sum
    [ "$WP_MODE" = short ] && exit 0
    gzip -dc a.tgz > a.tar && gzip -9n a.tar && gzip -t a.tar.gz && ls -l a.tar.gz | awk "{ print \$5 }"
    gzip -dc a.tar.gz | tar -tvf - --numeric-owner | sort | md5sum
    tar -czf - tree | gzip -d | tar -tf - | wc -l'
}

# coreutils and awk pipelines over generated data.
sort_awk() {
  bash -c 'seq 1 $SORT_LINES | awk "{ printf \"%d %s %05d\\n\", (\$1 * 7919) % 1000, substr(\"abcdefghij\", \$1 % 10 + 1, 3), \$1 }" > data
    sort -k1,1n -k2,2 -k3,3r data | awk "{ s[\$2] += \$1; n[\$2]++ } END { for (k in s) printf \"%s %d %d\\n\", k, s[k], n[k] }" | sort
    [ "$WP_MODE" = short ] && exit 0
    sort -u -k2,2 data | cut -d" " -f2 | tr a-z A-Z | sort -r | uniq -c
    awk "\$1 % 97 == 0" data | sort -t" " -k3 | head -n 5
    sort -R --random-source=data data | sort -n | md5sum
    LC_ALL=C sort -s -k2,2 data | uniq -c -f1 | awk "{ print \$1 }" | sort -n | uniq -c'
}
export WP_MODE=$mode

echo "wholeprog ($mode): agent $agent"
run_case libc-bash-script  libc.so.6 "" "$NORETURN_LIBC" bash "$src/tests/wholeprog/script.sh" $R
prepare_tree
SETUP=copy_tree run_case libc-tar-gzip libc.so.6 "" "$NORETURN_LIBC" tar_gzip
run_case libc-sort-awk     libc.so.6 "" "$NORETURN_LIBC" sort_awk
run_case libc-forkexec     libc.so.6 "" "$NORETURN_LIBC" "$bin/wp_forkexec" $FE
run_case libstdcxx-cxx     libstdc++.so.6 "" "$NORETURN_CXX" "$bin/wp_cxx" $CXX
[ $mode = long ] && run_case libc-cxx libc.so.6 "" "$NORETURN_LIBC" "$bin/wp_cxx" $CXX
run_case exe-gen-ipa-ra    "" wp_gen_ipa_ra "$NORETURN_GEN" "$bin/wp_gen_ipa_ra" $GEN
run_case exe-gen-no-ipa-ra "" wp_gen_no_ipa_ra "$NORETURN_GEN" "$bin/wp_gen_no_ipa_ra" $GEN
if [ $mode = long ]; then
  run_case exe-forkexec    "" wp_forkexec "$NORETURN_GEN" "$bin/wp_forkexec" $FE
  run_case exe-cxx         "" wp_cxx '^(_start|main)$' "$bin/wp_cxx" $CXX
fi
# The tracer's call: every function in one chook_attach_pattern() transaction.
API=pattern run_case libc-forkexec-pattern libc.so.6 "" "$NORETURN_LIBC" "$bin/wp_forkexec" $FE
[ $mode = long ] && API=pattern run_case exe-cxx-pattern "" wp_cxx '^(_start|main)$' "$bin/wp_cxx" $CXX

echo "wholeprog: $passed passed, $failed failed"
[ $failed = 0 ]
