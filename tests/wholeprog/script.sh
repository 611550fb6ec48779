#!/usr/bin/env bash
# A shell script that exercises bash itself: functions (recursive, with local
# variables and return codes), traps (EXIT, ERR, RETURN, a signal sent to
# itself), subshells, command and process substitution, pipelines,
# here-documents, arrays and associative arrays, arithmetic, string operations,
# read loops, and a background job. Deterministic output.
#
#   script.sh ROUNDS
set -u
rounds=${1:-3}

trap 'echo "exit trap: status $?"' EXIT
trap 'echo "  usr1 trap"' USR1

fib() {
  local n=$1
  if (( n < 2 )); then echo "$n"; return 0; fi
  local a b
  a=$(fib $((n - 1)))
  b=$(fib $((n - 2)))
  echo $((a + b))
}

fails() {
  trap 'echo "  return trap of fails"' RETURN
  return "$1"
}

errtrap() (
  trap 'echo "  err trap at line $LINENO"' ERR
  false
  echo "  after false"
  (exit 4)
  echo "  after subshell exit"
)

words() {
  local -a list=()
  local -A seen=()
  local w
  while read -r w; do
    [[ -n ${seen[$w]:-} ]] && continue
    seen[$w]=1
    list+=("$w")
  done
  printf '  %s\n' "${list[@]}"
  echo "  ${#list[@]} distinct"
}

for ((r = 0; r < rounds; r++)); do
  echo "round $r"
  echo "  fib $((r + 5)) = $(fib $((r + 5)))"
  fails $((r % 3)); echo "  fails returned $?"
  errtrap
  kill -USR1 $$
  out=$( (echo inner; exit 7); echo "subshell status $?")
  echo "  $out" | tr '\n' ' '; echo
  tr ' ' '\n' <<EOF | sort | words
the quick brown fox jumps over the lazy dog the end round $r
EOF
  s="Hello, Wonderful World $r"
  echo "  ${s,,} ${s^^} ${s//o/0} ${#s} ${s:7:9} ${s%World*}"
  x=0; for i in {1..50}; do (( x += i * i % 7 )); done; echo "  arith $x"
  cat <(printf '%s\n' c a b) | sort | paste -sd, - | sed 's/^/  sorted: /'
  sleep 0.01 & wait $!; echo "  background status $?"
  { echo "  group"; echo "  to stderr" >&2; } 2>&1
  arr=(zero one two three); unset 'arr[1]'; echo "  array ${arr[*]} keys ${!arr[*]}"
  printf -v padded '%05d|%-6s|%x' "$r" ab 255; echo "  $padded"
  case "$r" in 0) echo "  case zero";; [12]) echo "  case one or two";; *) echo "  case other";; esac
done
echo "to stderr at the end" >&2
exit 3
