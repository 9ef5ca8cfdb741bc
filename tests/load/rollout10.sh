#!/usr/bin/env bash
# Manual (not in CTest; about 5 minutes): the proxy issue's zero-downtime check. 10 rolling
# updates and 10 undos of a 4-replica Deployment (model server, no preStop, exits promptly on
# SIGTERM) under the shared harness ../shared/bench/rollout-load.sh, once with GETs and once
# with POSTs. Run from a build: KROLL_BUILD=build tests/load/rollout10.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../e2e/lib.sh"
. "$here/../e2e/svc-helpers.sh"
[ -f "$ROLLOUT_LOAD" ] || { say "SKIP: $ROLLOUT_LOAD not found"; exit 0; }
svc_setup
deploy web 4 1.0.3
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8501}]
Y
wait_for 60 "ready" -- ready_n web 4
IP=$(svc_ip web)
wait_for 10 "answers" -- curl -sf -m 2 -o /dev/null "http://$IP/v1/models/classifier"
cat >"$TEST_DIR/roll10.sh" <<'R'
set -e
for i in $(seq 1 10); do
  kubectl set image deploy/web server=myrepo/tf-serving:1.0.4 >/dev/null
  kubectl rollout status deploy/web --timeout=60s >/dev/null
  kubectl rollout undo deploy/web >/dev/null
  kubectl rollout status deploy/web --timeout=60s >/dev/null
  echo "cycle $i done" >&2
done
R
for mode in "" "--post"; do
    if bash "$ROLLOUT_LOAD" --host "$IP" --port 80 $mode --duration 150 -- bash "$TEST_DIR/roll10.sh" \
        >"$TEST_DIR/load.out" 2>&1; then
        pass "10 rollouts + undos under load ${mode:-(GET)}: $(grep '^PASS' "$TEST_DIR/load.out")"
    else
        fail "10 rollouts + undos under load ${mode:-(GET)}"
    fi
    tail -n 9 "$TEST_DIR/load.out"
done
say "pods drained at the proxy before SIGTERM: $(grep -c 'msg="drained"' "$TEST_DIR/server.log")"
finish
