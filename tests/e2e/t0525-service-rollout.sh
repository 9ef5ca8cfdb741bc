#!/usr/bin/env bash
# Rolling updates and undos of a 4-replica Deployment (no preStop hook, pods exit at once on
# SIGTERM) under keep-alive GET and POST load drop nothing: the pod drain controller takes each
# terminating pod out of the proxy's rotation and waits for its requests, and the kubelet
# signals the pod only once it is marked drained.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
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
wait_for 60 "deployment ready" -- ready_n web 4
IP=$(svc_ip web)
wait_for 10 "clusterIP answers" -- curl -sf -m 2 -o /dev/null "http://$IP/v1/models/classifier"
cat >"$TEST_DIR/roll.sh" <<'R'
set -e
kubectl set image deploy/web server=myrepo/tf-serving:1.0.4 >/dev/null
kubectl rollout status deploy/web --timeout=40s >/dev/null
kubectl rollout undo deploy/web >/dev/null
kubectl rollout status deploy/web --timeout=40s >/dev/null
R
LOAD_HOST=$IP LOAD_PORT=80
load_check "rolling update + undo under GET load" 25 -- bash "$TEST_DIR/roll.sh"
LOAD_ARGS=--post load_check "rolling update + undo under POST load" 25 -- bash "$TEST_DIR/roll.sh"
expect_match "$(grep -c 'msg="drained"' "$TEST_DIR/server.log")" '^([89]|[1-9][0-9]+)$' \
    "every terminated pod was drained at the proxy first"
expect_eq "$(version_of "http://$IP/v1/models/classifier")" web-1.0.3 "undo: 1.0.3 serves again"
finish
