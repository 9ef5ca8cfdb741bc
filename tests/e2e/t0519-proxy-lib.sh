# t0519: shared helpers for the t051x proxy tests (sourced by them): temp dir, free ports, the
# test backend, the proxy under test, check/finish; everything started is killed by PID at exit.
# Run directly (CTest does), it checks the proxy's command-line errors.
: "${KROLL_BUILD:?KROLL_BUILD must point at the CMake build directory}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BACKEND_PY="$HERE/../helper/proxy_test_backend.py"
TMP=$(mktemp -d /tmp/t051x.XXXXXX)
PIDS=()
FAILS=0

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

ok() { echo "ok   - $*"; }
not_ok() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { # check <description> <command...>
    local what=$1; shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
finish() {
    if ((FAILS)); then
        echo "# $FAILS check(s) failed; proxy log:"; tail -n 30 "$TMP"/proxy*.log 2>/dev/null
        exit 1
    fi
    echo "# all checks passed"
    exit 0
}

free_port() {
    local p i
    for i in $(seq 1 100); do
        p=$((20000 + RANDOM % 12000)) # below the kernel's ephemeral range (32768-)
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

wait_port() { # wait_port PORT: up to 5 s
    local i
    for i in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 never opened" >&2
    return 1
}

# The proxy under test: `kroll proxy` when the CLI has it, else the test driver.
if "${KROLL_BIN:-/nonexistent}" proxy --help >/dev/null 2>&1; then
    PROXY=("$KROLL_BIN" proxy)
else
    PROXY=("$KROLL_BUILD/tests/helper/kroll-proxy-driver")
fi

start_backend() { # start_backend NAME: sets BE_PORT, BE_PID
    BE_PORT=$(free_port)
    python3 "$BACKEND_PY" "$BE_PORT" "$1" >>"$TMP/backend-$1.log" 2>&1 &
    BE_PID=$!
    PIDS+=("$BE_PID")
    wait_port "$BE_PORT"
}

start_proxy() { # start_proxy ARGS...: sets PX_PORT, PX_ADMIN, PX_PID
    local try
    for try in 1 2 3; do # a port taken between free_port and bind: pick others
        PX_PORT=$(free_port)
        PX_ADMIN=$(free_port)
        "${PROXY[@]}" --listen "127.0.0.1:$PX_PORT" --admin "127.0.0.1:$PX_ADMIN" "$@" \
            >>"$TMP/proxy-$PX_PORT.log" 2>&1 &
        PX_PID=$!
        PIDS+=("$PX_PID")
        wait_port "$PX_PORT" 2>/dev/null && return 0
        kill -0 "$PX_PID" 2>/dev/null && break
    done
    echo "proxy did not start; log:" >&2
    cat "$TMP/proxy-$PX_PORT.log" >&2
    return 1
}

# raw PORT DATA [SECONDS]: sends DATA (printf format) and prints what comes back until the
# server closes or SECONDS (default 3) pass.
raw() {
    python3 - "$1" "$2" "${3:-3}" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=float(sys.argv[3]))
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            out += b"\n[closed]"
            break
        out += d
except socket.timeout:
    out += b"\n[open]"
sys.stdout.write(out.decode("latin-1"))
PY
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    out=$("${PROXY[@]}" --listen 127.0.0.1:1 2>&1); rc=$?
    check "missing --backends is a usage error (exit $rc)" test "$rc" = 2
    check "and says what is required" grep -q -- "--backends are required" <<<"$out"
    out=$("${PROXY[@]}" --listen 127.0.0.1:1 --backends nohost 2>&1); rc=$?
    check "a backend without a port is refused (exit $rc)" test "$rc" = 1
    check "with a message naming it" grep -q "nohost" <<<"$out"
    out=$("${PROXY[@]}" --listen 127.0.0.1:1 --backends 127.0.0.1:2 --workers 0 2>&1); rc=$?
    check "--workers 0 is refused (exit $rc)" test "$rc" = 2
    port=$(free_port)
    python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(5)' "$port" &
    PIDS+=($!)
    wait_port "$port"
    out=$(timeout 5 "${PROXY[@]}" --listen "127.0.0.1:$port" --backends 127.0.0.1:2 2>&1); rc=$?
    check "a port in use is a startup error (exit $rc)" test "$rc" = 1
    check "that names the address" grep -q "cannot listen on 127.0.0.1:$port" <<<"$out"
    finish
fi
