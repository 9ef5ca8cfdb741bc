#!/usr/bin/env bash
# t0512: kroll proxy when endpoints fail or leave: a killed backend costs no request (connect
# failures are retried on the other endpoint, GET and POST), all backends down -> 502, a backend
# slower than the response timeout -> 504, and the control socket's ordered drain (waits for
# in-flight requests, then stops routing there; bounded by timeout_ms; nothing left -> 503).
set -u
. "$(dirname "$0")/t0519-proxy-lib.sh"

start_backend alpha
A_PORT=$BE_PORT A_PID=$BE_PID
start_backend beta
B_PORT=$BE_PORT B_PID=$BE_PID
CTL=$TMP/proxy.sock
start_proxy --backends "127.0.0.1:$A_PORT,127.0.0.1:$B_PORT" --workers 2 --control "$CTL" \
    --response-timeout-ms 1500
P=http://127.0.0.1:$PX_PORT

ctl() { # ctl JSON: one request on the control socket, prints the reply line
    python3 - "$CTL" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.decode().strip())
PY
}
metric() { # metric NAME ENDPOINT: summed value
    curl -s --max-time 5 "http://127.0.0.1:$PX_ADMIN/metrics" |
        awk -v n="$1" -v e="endpoint=\"$2\"" 'index($0, n "{") == 1 && index($0, e) {s += $NF} END {print s + 0}'
}

check "control socket answers ping" grep -q '"ok":true' <<<"$(ctl '{"op":"ping"}')"
check "control socket refuses an unknown op" grep -q '"ok":false' <<<"$(ctl '{"op":"nope"}')"
check "control socket refuses bad JSON" grep -q '"ok":false' <<<"$(ctl 'not json')"

# Warm both pools, then kill alpha: pooled connections die and new connects are refused.
for i in 1 2 3 4; do curl -s --max-time 5 "$P/name" >/dev/null; done
kill -KILL "$A_PID"; wait "$A_PID" 2>/dev/null
codes=$(for i in $(seq 1 20); do curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 "$P/name"; done | sort | uniq -c | tr -s ' ')
check "20 GETs after killing one backend all answer 200 ($codes)" test "$codes" = " 20 200"
codes=$(for i in $(seq 1 6); do curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 -XPOST -d x "$P/echo"; done | sort | uniq -c | tr -s ' ')
check "POSTs are retried after a refused connect too ($codes)" test "$codes" = " 6 200"
errs=$(metric kroll_proxy_upstream_connect_errors_total "127.0.0.1:$A_PORT")
check "/metrics counts connect errors on the dead endpoint (got $errs)" test "$errs" -ge 1

kill -KILL "$B_PID"; wait "$B_PID" 2>/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$P/name")
check "all backends down -> 502 (got $code)" test "$code" = 502

start_backend gamma
C_PORT=$BE_PORT
start_backend delta
D_PORT=$BE_PORT
start_proxy --backends "127.0.0.1:$C_PORT,127.0.0.1:$D_PORT" --workers 2 --control "$CTL" \
    --response-timeout-ms 1500
P=http://127.0.0.1:$PX_PORT

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$P/slow?ms=3000")
check "a response slower than --response-timeout-ms -> 504 (got $code)" test "$code" = 504

# Ordered drain: a request in flight on an endpoint finishes before the drain is answered.
curl -s --max-time 10 "$P/slow?ms=1200" >"$TMP/slow1.out" &
SLOW=$!
busy=""
for i in $(seq 1 30); do
    for ep in "127.0.0.1:$C_PORT" "127.0.0.1:$D_PORT"; do
        [[ $(metric kroll_proxy_requests_in_flight "$ep") == 1 ]] && busy=$ep
    done
    [[ -n $busy ]] && break
    sleep 0.05
done
check "/metrics shows the slow request in flight" test -n "$busy"
other="127.0.0.1:$C_PORT"; [[ $busy == "$other" ]] && other="127.0.0.1:$D_PORT"
t0=$(date +%s%3N)
reply=$(ctl "{\"op\":\"drain\",\"endpoint\":\"$busy\",\"timeout_ms\":5000}")
t1=$(date +%s%3N)
wait "$SLOW"
check "drain replies with nothing in flight ($reply)" grep -q '"endpoints":1,"inflight":0,"timed_out":false' <<<"$reply"
check "drain waited for the in-flight request ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 700
check "the in-flight request completed normally" test "$(cat "$TMP/slow1.out")" = slow
check "the drained endpoint has no idle upstream connections" test "$(metric kroll_proxy_upstream_idle_connections "$busy")" = 0
before=$(metric kroll_proxy_requests_total "$busy")
for i in 1 2 3 4 5 6; do curl -s --max-time 5 "$P/name" >/dev/null; done
check "no new requests go to the drained endpoint" test "$(metric kroll_proxy_requests_total "$busy")" = "$before"
check "/metrics counts the drain" test "$(metric kroll_proxy_drains_total "$busy")" = 1

# A drain is bounded by timeout_ms: it answers while the request is still in flight.
(curl -s --max-time 15 "$P/slow?ms=1400" >/dev/null; date +%s%3N >"$TMP/slow2.end") &
SLOW=$!
for _ in $(seq 1 100); do
    [ "$(metric kroll_proxy_requests_in_flight "$other")" = 1 ] && break
    sleep 0.01
done
reply=$(ctl "{\"op\":\"drain\",\"endpoint\":\"$other\",\"timeout_ms\":300}")
t1=$(date +%s%3N)
wait "$SLOW"
if grep -q '"inflight":1' <<<"$reply"; then
    # The proxy answered while the request was still in flight (inflight 1): it stopped
    # waiting at the timeout. (Wall-clock comparisons here measure python's start-up.)
    check "a drain past its timeout says so ($reply)" grep -q '"timed_out":true' <<<"$reply"
else
    # The machine was too loaded to catch the request in flight; the bound is not observable.
    echo "# note: drain-timeout case not observed (reply $reply)"
    check "a drain with nothing in flight answers at once ($reply)" grep -q '"timed_out":false' <<<"$reply"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$P/name")
check "every endpoint drained -> 503 (got $code)" test "$code" = 503

finish
