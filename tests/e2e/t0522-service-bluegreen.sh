#!/usr/bin/env bash
# Blue/green: switching a Service's selector (kubectl patch) under keep-alive load drops
# nothing, and afterwards only green answers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
svc_setup

deploy blue 2 1.0.3 color=blue
deploy green 2 1.0.4 color=green
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: model}
spec:
  selector: {color: blue}
  ports: [{port: 80, targetPort: 8501}]
Y
wait_for 40 "blue ready" -- ready_n blue 2
wait_for 40 "green ready" -- ready_n green 2
IP=$(svc_ip model)
wait_for 10 "blue answers" -- sh_eval 'test "$(version_of "http://$IP/v1/models/classifier")" = blue-1.0.3'
LOAD_HOST=$IP LOAD_PORT=80
load_check "switch to green under GET load" 8 -- kubectl patch svc model -p '{"spec":{"selector":{"color":"green"}}}'
vers=$(for _ in $(seq 1 20); do version_of "http://$IP/v1/models/classifier"; echo; done | sort -u | grep . | tr '\n' ' ')
expect_eq "$vers" "green-1.0.4 " "after the switch only green answers"
LOAD_ARGS=--post load_check "switch back to blue under POST load" 8 -- kubectl patch svc model -p '{"spec":{"selector":{"color":"blue"}}}'
vers=$(for _ in $(seq 1 20); do version_of "http://$IP/v1/models/classifier"; echo; done | sort -u | grep . | tr '\n' ' ')
expect_eq "$vers" "blue-1.0.3 " "after switching back only blue answers"
finish
