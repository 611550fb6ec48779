#!/usr/bin/env bash
# chook-trace end to end: usage: test_trace.sh CHOOK_TRACE TRACE_TARGET [STATIC_TARGET]
# Traces tests/trace/trace_target.c (exact call counts), Debian programs, and
# checks the log format, the reports at exit/_exit/SIGINT/SIGUSR1, fork, threads
# and every error case with its exit status.
set -u
T=$1
P=$2
S=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0

check() { # check NAME CONDITION-COMMAND...
    local name=$1; shift
    if "$@"; then pass=$((pass + 1)); else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
has() { grep -qE -- "$2" "$1" || { echo "  expected /$2/ in $1:"; sed 's/^/    /' "$1"; return 1; }; }
hasnt() { ! grep -qE -- "$2" "$1" || { echo "  unexpected /$2/ in $1:"; sed 's/^/    /' "$1"; return 1; }; }
rc_is() { [ "$1" = "$2" ] || { echo "  exit status $1, expected $2"; return 1; }; }
run() { # run OUT ERR ARGS... ; sets rc
    local out=$1 err=$2; shift 2
    timeout 120 "$@" >"$out" 2>"$err"
    rc=$?
}

# ---- summary with exact counts (JSON), local functions and a clone --------------
run $tmp/o $tmp/e "$T" --json -f 'trace_target:tp_*' -- "$P" calls 7
check "calls: exit status" rc_is $rc 0
check "calls: program output" has $tmp/o '^trace_target calls done$'
check "calls: tp_outer" has $tmp/e '"name":"tp_outer","module":"trace_target","calls":7,'
check "calls: tp_middle" has $tmp/e '"name":"tp_middle",.*"calls":14,'
check "calls: tp_leaf" has $tmp/e '"name":"tp_leaf",.*"calls":42,'
check "calls: tp_add" has $tmp/e '"name":"tp_add",.*"calls":7,'
check "calls: clone traced and named" has $tmp/e 'tracing compiler clone tp_clone.constprop.0 of tp_clone'
check "calls: clone counted" has $tmp/e '"name":"tp_clone.constprop.0",.*"calls":7,'
check "calls: self time below total" awk -F'[,:]' '/"name":"tp_outer"/ { for (i = 1; i < NF; i++) { if ($i == "\"total_ns\"") t = $(i+1); if ($i == "\"self_ns\"") s = $(i+1) } exit !(s < t && t > 0) }' $tmp/e

# ---- the table, sorted, exclusions, plain name finds the clone, -o -------------
run $tmp/o $tmp/e "$T" --sort=calls -x 'tp_add' -f ':tp_*' -o $tmp/report.txt -- "$P" calls 3
check "table: exit status" rc_is $rc 0
check "table: header" has $tmp/report.txt 'CALLS +TOTAL +SELF +MIN +AVG +MAX +P99 +FUNCTION'
check "table: leaf first by calls" bash -c "grep -E '^ +[0-9]' $tmp/report.txt | head -1 | grep -qE '^ +18 .* tp_leaf \[trace_target\]$'"
check "table: exclusion" hasnt $tmp/report.txt 'tp_add'
run $tmp/o $tmp/e "$T" --json -f ':tp_clone' -- "$P" calls 2
check "plain name: clone" has $tmp/e '"name":"tp_clone.constprop.0",.*"calls":2,'

# ---- log mode -----------------------------------------------------------------------
run $tmp/o $tmp/e "$T" -l -s 'tp_add(i,i)->i' -s 'tp_leaf(l)->l' -f ':tp_*' -- "$P" calls 1
check "log: exit status" rc_is $rc 0
check "log: nesting opens" has $tmp/e '^ +[0-9]+\.[0-9]{6} +[0-9]+  tp_outer\(\) \{$'
check "log: leaf with args, depth 2" has $tmp/e '[0-9] {6}tp_leaf\(2\) = 7  <[0-9.]+ (ns|us|ms|s)>$'
check "log: signature" has $tmp/e '    tp_add\(0, 3\) = 3  <'
check "log: close" has $tmp/e '  } /\* tp_outer \*/ = 0x24  <'
check "log: 3 leaves per middle" bash -c "[ \$(grep -c 'tp_leaf(' $tmp/e) = 6 ]"
run $tmp/o $tmp/e "$T" -l -f 'libc.so.6:open' -f 'libc.so.6:close' -o $tmp/log.txt -- cat /etc/hostname
check "log: built-in signature of open" has $tmp/log.txt 'open\("/etc/hostname", O_RDONLY\) = [0-9]+  <'
check "log: close(fd)" has $tmp/log.txt 'close\([0-9]+\) = 0  <'

# ---- threads, fork, signals, exit paths ------------------------------------------------
run $tmp/o $tmp/e "$T" --json --per-thread -f ':tp_leaf' -- "$P" threads 1000
check "threads: two rows of 1000" bash -c "[ \$(grep -c '\"name\":\"tp_leaf\",\"module\":\"trace_target\",\"tid\":[0-9]*,\"calls\":1000,' $tmp/e) = 2 ]"
run $tmp/o $tmp/e "$T" --json -f ':tp_leaf' -- "$P" threads 1000
check "threads: merged" has $tmp/e '"name":"tp_leaf",.*"calls":2000,'
run $tmp/o $tmp/e "$T" --json -f ':tp_leaf' -- "$P" fork
check "fork: parent only" bash -c "[ \$(grep -c '\"pid\"' $tmp/e) = 1 ] && grep -q '\"calls\":2,' $tmp/e"
run $tmp/o $tmp/e "$T" --json -F -f ':tp_leaf' -- "$P" fork
check "follow-fork: two reports" bash -c "[ \$(grep -c '\"pid\"' $tmp/e) = 2 ] && grep -q '\"calls\":2,' $tmp/e && grep -q '\"calls\":3,' $tmp/e"
run $tmp/o $tmp/e "$T" -f ':tp_leaf' -- "$P" sigint 4
check "SIGINT: status 130" rc_is $rc 130
check "SIGINT: summary" has $tmp/e 'summary of pid [0-9]+ \(SIGINT\)'
check "SIGINT: counts" has $tmp/e '^ +4 .* tp_leaf \[trace_target\]$'
run $tmp/o $tmp/e "$T" -f ':tp_leaf' -- "$P" usr1 5
check "SIGUSR1: two reports" bash -c "grep -q '(SIGUSR1)' $tmp/e && grep -q '(exit)' $tmp/e && grep -qE '^ +10 .* tp_leaf' $tmp/e"
run $tmp/o $tmp/e "$T" --json -f ':tp_leaf' -f 'libc.so.6:exit' -- "$P" exit 6
check "exit traced: status 3" rc_is $rc 3
check "exit traced: report" bash -c "grep -q '\"name\":\"exit\",\"module\":\"libc.so.6\",\"calls\":1,' $tmp/e && grep -q '\"calls\":6,' $tmp/e"
run $tmp/o $tmp/e "$T" --json -f ':tp_leaf' -- "$P" _exit 2
check "_exit: status 4 and report" bash -c "[ $rc = 4 ] && grep -q '\"reason\":\"_exit\"' $tmp/e && grep -q '\"calls\":2,' $tmp/e"

# ---- Debian programs ------------------------------------------------------------------
seq 1 2000 | sort -R >$tmp/numbers
run $tmp/o $tmp/e "$T" --json -f 'libc.so.6:str*' -f 'libc.so.6:read' -f 'libc.so.6:write' -- sort -n $tmp/numbers
check "sort: exit status" rc_is $rc 0
check "sort: output unchanged" bash -c "seq 1 2000 | cmp -s - $tmp/o"
check "sort: read traced" has $tmp/e '"name":"read","module":"libc.so.6","calls":[1-9]'
if command -v gzip >/dev/null; then
    run $tmp/o $tmp/e "$T" -f 'libc.so.6:read' -f 'libc.so.6:write' -- gzip -c $tmp/numbers
    check "gzip: exit status" rc_is $rc 0
    check "gzip: output" bash -c "gzip -dc <$tmp/o | cmp -s - $tmp/numbers"
    check "gzip: table" has $tmp/e '^ +[0-9]+ .* (read|write) \[libc.so.6\]$'
else
    echo "skip: gzip is not installed"
fi

# ---- errors ----------------------------------------------------------------------------
run $tmp/o $tmp/e "$T" -f 'libc.so.6:no_such_function_x' -- "$P" calls 1
check "no match: status 2" rc_is $rc 2
check "no match: message" has $tmp/e 'chook-trace: libc.so.6:no_such_function_x: no function matches'
check "no match: program did not run" hasnt $tmp/o 'done'
run $tmp/o $tmp/e "$T" -f 'libnot-there.so:foo' -- "$P" calls 1
check "unknown module: status 2" rc_is $rc 2
check "unknown module: message" has $tmp/e 'no loaded module matches'
run $tmp/o $tmp/e "$T" -f 'libc.so.6:memcpy' -- "$P" calls 1
check "unhookable: status 2" rc_is $rc 2
check "unhookable: reason" has $tmp/e 'cannot trace memcpy \[libc.so.6\]: '
run $tmp/o $tmp/e "$T" -s 'open(s,bogus)->fd' -f ':tp_leaf' -- "$P" calls 1
check "bad signature: status 2" rc_is $rc 2
check "bad signature: message" has $tmp/e "unknown argument type 'bogus'"
run $tmp/o $tmp/e "$T" --sort=bogus -- "$P"
check "bad sort key" bash -c "[ $rc = 2 ] && grep -q 'unknown key' $tmp/e"
run $tmp/o $tmp/e "$T" -f ':tp_leaf' -- /no/such/program
check "missing program" bash -c "[ $rc = 2 ] && grep -q 'program not found' $tmp/e"
run $tmp/o $tmp/e "$T" -p 1
check "-p refused" bash -c "[ $rc = 2 ] && grep -q 'not supported' $tmp/e"
if [ -n "$S" ]; then
    run $tmp/o $tmp/e "$T" -f ':tp_leaf' -- "$S" calls 1
    check "static: status 2" rc_is $rc 2
    check "static: message" has $tmp/e 'is statically linked'
else
    echo "skip: no static libc to build a static program"
fi
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    cp "$P" $tmp/setuid_target && chown nobody $tmp/setuid_target && chmod 4755 $tmp/setuid_target
    run $tmp/o $tmp/e "$T" -f ':tp_leaf' -- $tmp/setuid_target calls 1
    check "setuid: status 2" rc_is $rc 2
    check "setuid: message" has $tmp/e 'set-user-ID'
else
    echo "skip: setuid check needs root and a 'nobody' user"
fi
run $tmp/o $tmp/e "$T" --help
check "help" bash -c "[ $rc = 0 ] && grep -q -- '--follow-fork' $tmp/o && grep -q 'Exit status' $tmp/o"
run $tmp/o $tmp/e "$T" --version
check "version" bash -c "[ $rc = 0 ] && grep -qE '^chook-trace [0-9]' $tmp/o"
run $tmp/o $tmp/e "$T" --list -f ':tp_*' -- "$P" calls 1
check "list" bash -c "[ $rc = 0 ] && grep -q '^tp_middle \[trace_target\]' $tmp/e && ! grep -q done $tmp/o"

echo "chook-trace tests: $pass passed, $fails failed"
[ $fails = 0 ]
