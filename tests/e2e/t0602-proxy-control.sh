#!/bin/bash
# t0602: the proxy's control socket serves only root and the proxy's own user (SO_PEERCRED),
# at most 16 clients at once (the rest get an error line and are closed, not queued), closes a
# client that sends nothing within 10 s, and neither it nor the admin (metrics) listener dies
# when the process runs out of file descriptors: both back off and serve again afterwards.
# A standalone `kroll proxy` is used so its control socket can sit where another user reaches
# it, and so it can run with a small descriptor limit.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
CLIENT=$TEST_DIR/pub/ctlclient.py
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# A directory another user can reach: the socket's own mode (0600) is relaxed below so that
# the peer-credential check, not the file mode, is what refuses them.
chmod 0711 "$TEST_DIR"
mkdir -m 0755 "$TEST_DIR/pub"
cp "$KROLL_SRC/tests/e2e/t0602-ctlclient.py" "$CLIENT"
chmod 0644 "$CLIENT"
SOCK=$TEST_DIR/pub/ctl.sock

# start_proxy NOFILE: a static proxy with control socket and admin port, under a fd limit.
start_proxy() {
    DATA_PORT=$(free_port) ADMIN_PORT=$(free_port)
    prlimit --nofile="$1:$1" "$KROLL_BIN" proxy --listen "127.0.0.1:$DATA_PORT" \
        --backends 127.0.0.1:1 --workers 2 --control "$SOCK" --admin "127.0.0.1:$ADMIN_PORT" \
        >>"$TEST_DIR/proxy.log" 2>&1 &
    PROXY_PID=$!
    KROLL_PIDS="$KROLL_PIDS $PROXY_PID"
    wait_for 20 "proxy control socket is up" -- test -S "$SOCK"
}
ask() { timeout 120 $PY "$CLIENT" "$@" 2>&1; }

start_proxy 1024
expect_eq "$(stat -c %a "$SOCK")" "600" "control socket is created 0600"
expect_match "$(ask request "$SOCK")" '^\{"ok":true,"endpoints":0' "root gets a drain answer"

chmod 0666 "$SOCK"
if [ "$(id -u)" = 0 ]; then
    out=$(timeout 120 setpriv --reuid=65534 --regid=65534 --clear-groups $PY "$CLIENT" request "$SOCK" 2>&1)
    expect_match "$out" '^(EOF|ERR:ConnectionResetError|SEND:BrokenPipeError)$' "uid 65534 is closed without an answer"
    wait_for 10 "the refusal is logged with the uid" -- grep -q 'control client refused reason=uid-not-allowed uid=65534' "$TEST_DIR/proxy.log"
else
    say "skip - not root: cannot act as another user"
fi

# 40 clients that send nothing: 24 are refused at once, the 16 admitted ones fill the cap.
out=$(ask flood "$SOCK" 40)
expect_match "$out" '^busy=24 ' "clients over the cap of 16 are refused at once"
expect_match "$out" 'during=\{"ok":false,"error":"too many control clients"\}' "a client while the cap is full is refused, not queued"
expect_match "$out" 'after=\{"ok":true' "control works for root after the flood"

out=$(ask idle "$SOCK")
expect_match "$out" '^EOF after ([89]|1[0-9]|2[0-9])s$' "a silent client is closed by the 10 s read deadline"

# Out of file descriptors: the control and admin threads back off and serve again.
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null
start_proxy 40
out=$(ask exhaust "$SOCK" "$ADMIN_PORT" "$DATA_PORT" 60)
say "$out"
expect_match "$(grep -c 'accept failing err="Too many open files"' "$TEST_DIR/proxy.log")" '^[1-9]' "descriptors did run out"
expect_match "$out" 'ctl=\{"ok":true.* adm=HTTP/1.1 200 OK \| after ctl=\{"ok":true.* adm=HTTP/1.1 200 OK$' \
    "control and admin answer once descriptors are back"
expect_rc 0 "the proxy is alive" -- kill -0 "$PROXY_PID"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null
finish
