#!/bin/bash
# t0601: `kroll stop` signals only the kroll server (and proxy) of its data dir: a stale pid file
# naming an unrelated live process (a pid reused after a reboot) is never trusted, whether the
# lock file is missing, free, or held by a real server the pid file does not name; and stop
# still stops a real server and its proxy.
. "$(dirname "$0")/lib.sh"

sleep 300 &
VICTIM=$!
KROLL_PIDS="$KROLL_PIDS $VICTIM"
running() { proc_running "$1"; }
stop() { timeout 120 "$KROLL_BIN" stop --data-dir "$KROLL_DATA" >"$TEST_DIR/stop.out" 2>&1; }

# 1. No server ever ran here; the pid files name a live unrelated process.
mkdir -m 0700 -p "$KROLL_DATA/run"
echo "$VICTIM" >"$KROLL_DATA/run/server.pid"
echo "$VICTIM" >"$KROLL_DATA/run/proxy.pid"
stop; rc=$?
expect_eq "$rc" "0" "no lock file: stop succeeds"
expect_match "$(cat "$TEST_DIR/stop.out")" "no server running for $KROLL_DATA" "no lock file: says no server runs"
expect_rc 0 "no lock file: the unrelated process is alive" -- kill -0 "$VICTIM"

# 2. A real server ran and stopped (lock file left, free); stale pid files after a "reboot".
kroll_start
wait_for 30 "proxy started" -- test -s "$KROLL_DATA/run/proxy.pid"
PROXY=$(cat "$KROLL_DATA/run/proxy.pid")
stop
expect_rc 1 "stop stops a real server" -- kill -0 "$KROLL_SERVER_PID"
expect_rc 1 "stop stops the real proxy" -- running "$PROXY"
expect_match "$(cat "$TEST_DIR/stop.out")" "stopped server \(pid $KROLL_SERVER_PID\)" "stop reports the server it stopped"
test -e "$KROLL_DATA/run/server.lock" && pass "the lock file stays behind" || fail "no lock file left"
echo "$VICTIM" >"$KROLL_DATA/run/server.pid"
echo "$VICTIM" >"$KROLL_DATA/run/proxy.pid"
stop; rc=$?
expect_eq "$rc" "0" "free lock: stop succeeds"
expect_match "$(cat "$TEST_DIR/stop.out")" "no server running .*no process was signalled" "free lock: says no server runs"
expect_rc 0 "free lock: the unrelated process is alive" -- kill -0 "$VICTIM"

# 3. A server runs but its pid file names another process: refuse, signal nothing.
kroll_start
wait_for 30 "proxy started again" -- sh_eval 'test -s "$KROLL_DATA/run/proxy.pid" && kill -0 "$(cat "$KROLL_DATA/run/proxy.pid")"'
cp "$KROLL_DATA/run/server.pid" "$TEST_DIR/server.pid.real"
echo "$VICTIM" >"$KROLL_DATA/run/server.pid"
stop; rc=$?
expect_eq "$rc" "1" "held lock, wrong pid file: stop fails"
expect_match "$(cat "$TEST_DIR/stop.out")" "server lock of $KROLL_DATA is held, but run/server.pid names pid $VICTIM, which does not hold it; not signalling" \
    "held lock, wrong pid file: says why"
expect_rc 0 "held lock, wrong pid file: the unrelated process is alive" -- kill -0 "$VICTIM"
expect_rc 0 "held lock, wrong pid file: the server is untouched" -- kill -0 "$KROLL_SERVER_PID"
cp "$TEST_DIR/server.pid.real" "$KROLL_DATA/run/server.pid"
PROXY=$(cat "$KROLL_DATA/run/proxy.pid")
stop; rc=$?
expect_eq "$rc" "0" "right pid file: stop succeeds"
expect_rc 1 "right pid file: server stopped" -- kill -0 "$KROLL_SERVER_PID"
expect_rc 1 "right pid file: proxy stopped" -- running "$PROXY"
expect_rc 0 "the unrelated process survived everything" -- kill -0 "$VICTIM"
finish
