#!/usr/bin/env bash
# Runs each benchmark built in BUILD_DIR/bench. With --json, prints one JSON object
# mapping every figure's name to its value.
set -eu
dir=$1; shift
json=0; for a in "$@"; do [ "$a" = "--json" ] && json=1; done
progs=$(cd "$dir/bench" && for f in *; do [ -f "$f" ] && [ -x "$f" ] && case "$f" in *.so*) ;; *) echo "$f";; esac; done | sort)
if [ $json = 1 ]; then
  first=1; printf '{'
  for p in $progs; do
    out=$(cd "$dir/bench" && "./$p" --json)
    body=$(printf '%s' "$out" | sed -e 's/^[[:space:]]*{//' -e 's/}[[:space:]]*$//')
    [ -n "$body" ] || continue
    [ $first = 1 ] || printf ','
    printf '%s' "$body"; first=0
  done
  printf '}\n'
else
  for p in $progs; do (cd "$dir/bench" && "./$p" "$@"); echo; done
fi
