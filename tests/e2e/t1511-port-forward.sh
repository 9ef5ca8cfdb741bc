#!/usr/bin/env bash
# t1511: kubectl port-forward to a runc pod, with the kubectl on PATH (1.32: SPDY tunnelled in
# WebSocket), 1.27 (plain SPDY/3.1) and 1.33: curl through pod/NAME and svc/NAME (kubectl maps
# the Service port to the pod's targetPort), a server bound to the pod's loopback only (reached
# inside its network namespace), a 5 MB body intact, several connections at once, and a port
# nothing listens on reported in the kubelet's words.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
command -v curl >/dev/null || { say "SKIP: no curl"; exit 0; }
kroll_start --runtime=runc
bbimage test/bb

KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")
VERSIONS="kubectl"
for v in 1.27 1.33; do [ -x "$KDIR/kubectl.$v" ] && VERSIONS="$VERSIONS $KDIR/kubectl.$v"; done

cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: test/bb
    ports: [{containerPort: 8080}]
    command:
    - sh
    - -c
    - |
      head -c 5000000 /dev/urandom >/www/big
      md5sum </www/big | cut -d' ' -f1 >/www/big.md5
      httpd -p 127.0.0.1:9090 -h /www
      exec httpd -f -p 8080 -h /www
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
Y
wait_running web 90
wait_for 30 "the pod wrote its files" -- sh_eval 'kubectl exec web -- test -s /www/big.md5'
MD5=$(kubectl exec web -- cat /www/big.md5)

# pf KUBECTL TARGET LOCAL:REMOTE: starts a port-forward, waits for its "Forwarding from" line.
pf() {
    "$1" port-forward "$2" "$3" >"$TEST_DIR/pf.log" 2>&1 &
    PF=$!
    KROLL_PIDS="$KROLL_PIDS $PF"
    wait_for 30 "port-forward $2 $3 listens" -- sh_eval 'grep -q "Forwarding from 127.0.0.1" "$TEST_DIR/pf.log"'
}
pf_stop() { kill "$PF" 2>/dev/null; wait "$PF" 2>/dev/null; }

PORT=$((20000 + RANDOM % 20000))
for K in $VERSIONS; do
    V=$(basename "$K")
    PORT=$((PORT + 3))
    pf "$K" pod/web "$PORT:8080"
    expect_eq "$(curl -sS -m 10 "http://127.0.0.1:$PORT/index.html")" ok "$V: pod/web: curl through the tunnel"
    expect_eq "$(curl -sS -m 30 "http://127.0.0.1:$PORT/big" | md5sum | cut -d' ' -f1)" "$MD5" "$V: 5 MB body intact"
    CURLS=""
    for i in 1 2 3 4 5; do
        curl -sS -m 10 -o "$TEST_DIR/par.$i" "http://127.0.0.1:$PORT/index.html" &
        CURLS="$CURLS $!"
    done
    for c in $CURLS; do wait "$c"; done
    expect_eq "$(cat "$TEST_DIR"/par.* | tr -d '\n')" okokokokok "$V: 5 connections at once"
    rm -f "$TEST_DIR"/par.*
    pf_stop
    pf "$K" svc/web "$((PORT + 1)):80"
    expect_eq "$(curl -sS -m 10 "http://127.0.0.1:$((PORT + 1))/index.html")" ok "$V: svc/web: port 80 reaches targetPort 8080"
    pf_stop
    pf "$K" pod/web "$((PORT + 2)):9090"
    expect_eq "$(curl -sS -m 10 "http://127.0.0.1:$((PORT + 2))/index.html")" ok "$V: a server bound to the pod's 127.0.0.1"
    pf_stop
    pf "$K" pod/web "$PORT:9999"
    curl -sS -m 10 "http://127.0.0.1:$PORT/" >/dev/null 2>&1
    wait_for 10 "$V: the refused port is reported" -- sh_eval \
        'grep -q "error forwarding port 9999 to pod .*, uid : failed to connect to localhost:9999.*refused" "$TEST_DIR/pf.log"'
    pf_stop
done
grep -q 'sub=portforward proto=spdy-in-websocket' "$TEST_DIR/server.log" && pass "the WebSocket tunnel was used" ||
    fail "no tunnelled session in the server log"
case $VERSIONS in *1.27*)
    grep -q 'sub=portforward proto=spdy ' "$TEST_DIR/server.log" && pass "plain SPDY was used (1.27)" ||
        fail "no plain SPDY session in the server log" ;;
esac
pods_gone
finish
