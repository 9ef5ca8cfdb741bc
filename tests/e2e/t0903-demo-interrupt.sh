#!/bin/bash
# t0903: Ctrl-C during `kroll demo` stops everything it started (server, pods, Service proxy,
# kubectl children) and exits 130 with the partial summary.
. "$(dirname "$0")/lib.sh"

IMAGES=$KROLL_BUILD/examples/images
[ -f "$IMAGES/images.txt" ] || { say "SKIP: no model-server images in $IMAGES"; exit 0; }
unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }
# Processes whose command line or executable is under the demo's data dir (server, proxy,
# shims, and the model servers, whose binaries live in its image store).
leftovers() {
    local p e c
    for p in /proc/[0-9]*; do
        e=$(readlink "$p/exe" 2>/dev/null); c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")
        case "$e $c" in *"$KROLL_DATA"*) echo "${p#/proc/}:${c:0:60}" ;; esac
    done
}
trap 'rc=$?; "$KROLL_BIN" stop --data-dir "$KROLL_DATA" >/dev/null 2>&1; (exit $rc); cleanup' EXIT

"$KROLL_BIN" demo --data-dir "$KROLL_DATA" --images "$IMAGES" >"$TEST_DIR/demo.out" 2>&1 &
DEMO=$!
wait_for 90 "demo reached the rolling update" -- grep -q 'server=myrepo/tf-serving:1.0.4' "$TEST_DIR/demo.out"
running=$(leftovers | wc -l)
[ "$running" -ge 5 ] && pass "server, proxy and pods running ($running processes)" || fail "only $running processes"
kill -INT "$DEMO"
for _ in $(seq 1 600); do kill -0 "$DEMO" 2>/dev/null || break; sleep 0.1; done
wait "$DEMO"
expect_eq "$?" 130 "exit status 130 after SIGINT"
out=$(cat "$TEST_DIR/demo.out")
expect_match "$out" 'interrupted; everything it started is stopped' "says it cleaned up"
expect_match "$out" '^Summary' "partial summary printed"
sleep 1
expect_eq "$(leftovers | xargs)" "" "nothing of the demo left running"
finish
