#!/usr/bin/env bash
# kill -9 of the server under load drops nothing: the proxy is its own process and keeps its
# last endpoints; the restarted server adopts it (same pid) and it follows changes again.
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
wait_for 40 "deployment ready" -- ready_n web 2
IP=$(svc_ip web)
wait_for 10 "clusterIP answers" -- curl -sf -m 2 -o /dev/null "http://$IP/v1/models/classifier"
cat >"$TEST_DIR/kill.sh" <<K
kill -9 $KROLL_SERVER_PID; sleep 3
"$KROLL_BIN" server --data-dir "$KROLL_DATA" --listen 127.0.0.1:0 >>"$TEST_DIR/server.log" 2>&1 </dev/null &
echo \$! >"$TEST_DIR/server2.pid"
sleep 4
K
LOAD_HOST=$IP LOAD_PORT=80
load_check "kill -9 of the server under load" 12 -- bash "$TEST_DIR/kill.sh"
KROLL_SERVER_PID=$(cat "$TEST_DIR/server2.pid")
expect_eq "$(cat "$KROLL_DATA/run/proxy.pid")" "$PROXY_PID" "restarted server adopted the running proxy"
expect_match "$(grep -c 'adopted running proxy' "$TEST_DIR/server.log")" '^1$' "adoption logged"
KROLL_PORT=$(sed -n 's|.*server: https://127.0.0.1:\([0-9]*\).*|\1|p' "$KUBECONFIG")
kubectl scale deploy web --replicas=3 >/dev/null
wait_for 40 "scaled to 3" -- ready_n web 3
n_eps() { metrics | grep -c "kroll_proxy_endpoint_ready{service=\"default/web:80\",.*} 1"; }
wait_for 10 "proxy re-watched: 3 endpoints after the restart" -- sh_eval 'test "$(n_eps)" = 3'
finish
