#!/usr/bin/env bash
# A pod killed (SIGKILL) mid-load costs no failed GET: requests cut by the dying pod are retried
# on another endpoint, and connects to it fail over until its readiness drops.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
svc_setup

deploy web 3 1.0.3
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8501}]
Y
wait_for 40 "deployment ready" -- ready_n web 3
IP=$(svc_ip web)
wait_for 10 "clusterIP answers" -- curl -sf -m 2 -o /dev/null "http://$IP/v1/models/classifier"
UID0=$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.uid}')
SHIM=$(cat "$KROLL_DATA/pods/$UID0/shim.pid")
LOAD_HOST=$IP LOAD_PORT=80
load_check "SIGKILL of a pod's server under GET load" 8 -- \
    bash -c "kill -9 \$(ps -o pid= --ppid $SHIM | head -1); sleep 4"
wait_for 40 "killed container restarted and ready" -- ready_n web 3
load_check "SIGKILL again under GET load" 8 -- \
    bash -c "kill -9 \$(ps -o pid= --ppid $SHIM | head -1); sleep 4"
finish
