#!/usr/bin/env bash
# While the proxy's view is behind (it lost the API server and has not re-listed yet), a drain
# does not take the pod out of rotation: the pods that replace it may be ready in the API but
# unknown to the proxy, and draining the last known ones left nothing to route to (503s after a
# server restart in the crash test t0526). The drain waits for a current view, bounded by its
# timeout, and says so in its reply.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
svc_setup
deploy web 2 1.0.3
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8501}]
Y
wait_for 60 "deployment ready" -- ready_n web 2
P1=$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
ready_of() { metrics | sed -n "s/^kroll_proxy_endpoint_ready{service=\"default\/web:80\",.*pod=\"default\/$1\".*} //p"; }
wait_for 20 "the proxy routes to $P1" -- sh_eval 'test "$(ready_of "$P1")" = 1'
drain() { # POD TIMEOUT_MS OUT: one drain request on the proxy's control socket
    /usr/bin/python3 - "$KROLL_DATA/run/proxy.sock" "$1" "$2" >"$3" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
t0 = time.time()
s.sendall((json.dumps({"op": "drain", "pod": "default/" + sys.argv[2],
                       "timeout_ms": int(sys.argv[3])}) + "\n").encode())
reply = s.makefile().readline().strip()
print(reply, "after_ms=%d" % ((time.time() - t0) * 1000))
PY
}

kill -9 "$KROLL_SERVER_PID"; wait "$KROLL_SERVER_PID" 2>/dev/null
wait_for 20 "the proxy noticed the server is gone" -- grep -q 'list failed' "$KROLL_DATA/run/proxy.log"
drain "$P1" 4000 "$TEST_DIR/drain1" &
DPID=$!
sleep 1.5
expect_eq "$(ready_of "$P1")" 1 "while the proxy's view is behind, the drained pod still serves"
wait "$DPID"
expect_match "$(cat "$TEST_DIR/drain1")" '"ok": ?true.*"view_stale": ?true' "the drain answered at its timeout, saying the view was behind"

kroll_start
wait_for 30 "the proxy re-listed" -- grep -q 'api server back: re-listed endpointslices' "$KROLL_DATA/run/proxy.log"
drain "$P1" 20000 "$TEST_DIR/drain2"
expect_match "$(cat "$TEST_DIR/drain2")" '"ok": ?true' "with a current view the drain is done"
expect_eq "$(grep -c view_stale "$TEST_DIR/drain2")" 0 "... and does not report a stale view"
expect_eq "$(ready_of "$P1")" 0 "... and the pod is out of rotation"
finish
