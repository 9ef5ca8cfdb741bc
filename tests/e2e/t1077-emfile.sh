#!/bin/bash
# t1077: running out of file descriptors does not make the API server or the proxy spin:
# with a low `ulimit -n`, hundreds of held connections exhaust the descriptors, accept()
# fails with EMFILE, and both back off (CPU stays low) and serve again once the clients go.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
HL="$PY $(dirname "$0")/t1079-hostile-lib.py"

# utime+stime of a process, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# cpu_pct PID SECS: CPU use of PID over SECS seconds, in percent.
cpu_pct() {
    local a b hz; hz=$(getconf CLK_TCK); a=$(ticks "$1"); sleep "$2"; b=$(ticks "$1")
    echo $(( (b - a) * 100 / hz / $2 ))
}

old=$(ulimit -Sn)
ulimit -Sn 160
kroll_start
ulimit -Sn "$old"
cd "$TEST_DIR"
wait_for 20 "server started the proxy" -- test -s "$KROLL_DATA/run/proxy.pid"
PROXY_PID=$(cat "$KROLL_DATA/run/proxy.pid")
trap 'rc=$?; kill -TERM "$PROXY_PID" 2>/dev/null; (exit $rc); cleanup' EXIT

# The API: 400 held connections against 160 descriptors.
$HL hold "$KROLL_PORT" 400 12 >hold.out &
HOLD=$!; KROLL_PIDS="$KROLL_PIDS $HOLD"
wait_for 20 "the connections are open" -- grep -q held hold.out
sleep 2
pct=$(cpu_pct "$KROLL_SERVER_PID" 5)
expect_match "$pct" '^([0-9]|1[0-9])$' "API server CPU while out of descriptors: ${pct}% (under 20%)"
wait "$HOLD"
wait_for 30 "the API serves again once the connections closed" -- sh_eval 'test "$(api_curl /healthz)" = ok'
grep -q 'cannot accept, pausing the listener' server.log && pass "EMFILE is logged" || fail "EMFILE is not logged"

# The proxy: a Service with no endpoints still has a listener on its clusterIP.
kubectl create service clusterip hog --tcp=80:8080 >/dev/null
IP=$(kubectl get svc hog -o jsonpath='{.spec.clusterIP}')
wait_for 30 "the proxy listens on $IP:80" -- sh_eval "$PY -c 'import socket; socket.create_connection((\"$IP\", 80), 2)'"
$PY - "$IP" 400 12 >phold.out <<'P' &
import socket, sys, time
socks = []
for _ in range(int(sys.argv[2])):
    try:
        socks.append(socket.create_connection((sys.argv[1], 80), 3))
    except OSError:
        pass
print("held", len(socks), flush=True)
time.sleep(float(sys.argv[3]))
P
HOLD=$!; KROLL_PIDS="$KROLL_PIDS $HOLD"
wait_for 20 "the proxy connections are open" -- grep -q held phold.out
sleep 2
pct=$(cpu_pct "$PROXY_PID" 5)
expect_match "$pct" '^([0-9]|1[0-9])$' "proxy CPU while out of descriptors: ${pct}% (under 20%)"
wait "$HOLD"
wait_for 30 "the proxy accepts again once the connections closed" -- \
    sh_eval "curl -s -m 3 -o /dev/null -w '%{http_code}' http://$IP/ | grep -q '^[1-5]'"
finish
