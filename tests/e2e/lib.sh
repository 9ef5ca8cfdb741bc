# Shared helpers for end-to-end tests (git's test-lib style). Source it from a tNNNN-*.sh script:
#   . "$(dirname "$0")/lib.sh"
#   kroll_start            # server in a temp data dir on a free port; exports KUBECONFIG
#   kubectl get ns         # real kubectl against it
#   expect_eq "$a" "$b" "what"
# Everything started here is stopped by PID on exit; every wait is bounded.
set -u

KROLL_BIN=${KROLL_BIN:-${KROLL_BUILD:-build}/kroll}
KROLL_SRC=${KROLL_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KROLL_BUILD=${KROLL_BUILD:-$KROLL_SRC/build}
TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kroll-$TEST_NAME.XXXXXX")
KROLL_DATA=$TEST_DIR/data
KROLL_PIDS=""
FAILS=0
CHECKS=0
export KUBECACHEDIR=$TEST_DIR/kubecache

say() { printf '%s: %s\n' "$TEST_NAME" "$*"; }

cleanup() {
    local rc=$?
    if [ -n "${KROLL_SERVER_PID:-}" ] && kill -0 "$KROLL_SERVER_PID" 2>/dev/null; then
        kill -TERM "$KROLL_SERVER_PID" 2>/dev/null
        for _ in $(seq 1 200); do kill -0 "$KROLL_SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$KROLL_SERVER_PID" 2>/dev/null
    fi
    for p in $KROLL_PIDS; do kill -KILL "$p" 2>/dev/null; done
    # The proxy is a separate process that outlives the server by design.
    if [ -f "$KROLL_DATA/run/proxy.pid" ]; then
        local proxy_pid
        proxy_pid=$(cat "$KROLL_DATA/run/proxy.pid")
        kill -TERM "$proxy_pid" 2>/dev/null
        # Under ASan the proxy writes its leak report as it exits: wait for it (bounded).
        if [ "$KROLL_ASAN" = 1 ]; then
            for _ in $(seq 1 100); do proc_running "$proxy_pid" || break; sleep 0.1; done
        fi
    fi
    # Shims and pods outlive a killed server by design: stop what this test's data dir runs.
    if [ -d "$KROLL_DATA/pods" ]; then
        for f in "$KROLL_DATA"/pods/*/shim.pid; do
            [ -f "$f" ] && kill -KILL -"$(cat "$f")" 2>/dev/null; [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
        done
    fi
    # Containers of an OCI runtime (KROLL_RUNTIME=runc) are in no shim's process group: runc
    # kills and deletes them (by the ids in this data dir's state root). Then the overlay roots
    # and volume mounts the kubelet made are unmounted, deepest first, so that the rm below
    # never deletes through a mount.
    if [ -d "$KROLL_DATA/runc" ] && command -v runc >/dev/null 2>&1; then
        for c in $(runc --root "$KROLL_DATA/runc" list -q 2>/dev/null); do
            runc --root "$KROLL_DATA/runc" delete --force "$c" >/dev/null 2>&1
        done
    fi
    findmnt -rn -o TARGET 2>/dev/null | grep "^$TEST_DIR/" | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null; done
    sanitizer_check || rc=1
    if [ "$rc" != 0 ] && [ -f "$TEST_DIR/server.log" ]; then
        echo "---- server log (last 40 lines) ----"; tail -n 40 "$TEST_DIR/server.log"
    fi
    [ "${KEEP_TEST_DIR:-}" = 1 ] || rm -rf "$TEST_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts kroll server; extra arguments go to the server. Sets KROLL_PORT, KUBECONFIG.
kroll_start() {
    mkdir -p "$KROLL_DATA"
    touch "$TEST_DIR/server.log"
    # A restart in the same test appends to the log: only a "ready" line after this point counts.
    local skip
    skip=$(wc -l <"$TEST_DIR/server.log")
    # Image pulls go to an OCI layout of the test's (absent unless the test makes it): tests
    # reach no registry.
    export KROLL_PULL_TRANSPORT=${KROLL_PULL_TRANSPORT:-oci:$TEST_DIR/registry:}
    "$KROLL_BIN" server --data-dir "$KROLL_DATA" --listen 127.0.0.1:0 "$@" >>"$TEST_DIR/server.log" 2>&1 &
    KROLL_SERVER_PID=$!
    for _ in $(seq 1 300); do
        tail -n +"$((skip + 1))" "$TEST_DIR/server.log" | grep -q 'msg="ready"' && break
        kill -0 "$KROLL_SERVER_PID" 2>/dev/null || { cat "$TEST_DIR/server.log"; fail "server exited"; exit 1; }
        sleep 0.05
    done
    tail -n +"$((skip + 1))" "$TEST_DIR/server.log" | grep -q 'msg="ready"' ||
        { fail "server not ready in 15s"; exit 1; }
    export KUBECONFIG=$KROLL_DATA/kubeconfig
    KROLL_PORT=$(sed -n 's|.*server: https://127.0.0.1:\([0-9]*\).*|\1|p' "$KUBECONFIG")
    KROLL_TOKEN=$(sed -n 's|.*token: \(.*\)|\1|p' "$KUBECONFIG")
}

# Stops the server gracefully (SIGTERM) and waits.
kroll_stop() {
    kill -TERM "$KROLL_SERVER_PID" 2>/dev/null
    for _ in $(seq 1 300); do kill -0 "$KROLL_SERVER_PID" 2>/dev/null || break; sleep 0.1; done
}

# curl against the API with the bearer token: api_curl PATH [curl args...]
api_curl() {
    local path=$1; shift
    curl -sS --cacert "$KROLL_DATA/pki/ca.crt" -H "Authorization: Bearer $KROLL_TOKEN" \
        "https://127.0.0.1:$KROLL_PORT$path" "$@"
}

pass() { CHECKS=$((CHECKS + 1)); say "ok - $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); say "FAIL - $*"; }

expect_eq() { # actual expected what
    if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got [$1] want [$2]"; fi
}
expect_match() { # actual regex what
    if printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"; else fail "$3: [$1] does not match /$2/"; fi
}
expect_rc() { # expected-rc what -- command...
    local want=$1 what=$2; shift 3
    "$@" >"$TEST_DIR/out" 2>&1; local rc=$?
    if [ "$rc" = "$want" ]; then pass "$what"; else fail "$what: rc $rc want $want: $(head -c 600 "$TEST_DIR/out")"; fi
}

# sh_eval 'SHELL TEXT': evaluates the text anew on every call. Use it when a wait_for condition
# contains a command substitution, which the shell would otherwise expand only once:
#   wait_for 10 "two pods" -- sh_eval 'test "$(kubectl get pods -o name | wc -l)" = 2'
sh_eval() { eval "$1"; }

# wait_for SECONDS DESCRIPTION -- command...: retries the command until it succeeds.
wait_for() {
    local secs=$1 what=$2; shift 3
    local end=$(( $(date +%s) + secs ))
    while [ "$(date +%s)" -lt "$end" ]; do
        if "$@" >/dev/null 2>&1; then pass "$what"; return 0; fi
        sleep 0.2
    done
    fail "$what (not within ${secs}s)"; return 1
}

# Memory bounds in tests are measured on the release build. Under AddressSanitizer (`make
# asan`) the shadow memory and the quarantine of freed blocks (up to 256 MB) make RSS say
# nothing about the program, so the bounds are reported as skipped there.
if ldd "$KROLL_BIN" 2>/dev/null | grep -q libasan; then KROLL_ASAN=1; else KROLL_ASAN=0; fi
# Every process of the test built with the sanitizers (server, proxy, shims, kroll CLI verbs)
# writes its reports to $TEST_DIR/sanitizer.PID (the last log_path wins over the caller's).
# A leak found as the server exits changes no exit status a test sees, so cleanup fails the
# test on any report instead.
if [ "$KROLL_ASAN" = 1 ]; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$TEST_DIR/sanitizer"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$TEST_DIR/sanitizer"
fi
sanitizer_check() {
    local f found=0
    for f in "$TEST_DIR"/sanitizer.*; do
        [ -f "$f" ] || continue
        found=1
        say "FAIL - sanitizer report $(basename "$f") (first 60 lines):"
        head -n 60 "$f"
    done
    [ "$found" = 0 ]
}
rss_bound() { # rss_bound KB MAX_KB WHAT
    if [ "$KROLL_ASAN" = 1 ]; then
        say "skip - $3: ${1} kB under ASan (the bound, ${2} kB, holds for the release build)"
    elif [ "$1" -lt "$2" ]; then pass "$3 ${1} kB < ${2} kB"
    else fail "$3 ${1} kB >= ${2} kB"; fi
}

# True while PID runs and is not a zombie: a process that has exited may stay a zombie for a
# while where nobody reaps the double-forked proxy and shims (PID 1 of a container).
proc_running() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${st#Z}" = "$st" ]; }

# Ends the test: prints the counts and exits non-zero on any failure.
finish() {
    say "$CHECKS checks, $FAILS failed"
    [ "$CHECKS" -gt 0 ] || { say "FAIL - no checks ran"; exit 1; }
    [ "$FAILS" = 0 ]
    exit $?
}
