#!/usr/bin/env bash
# --node-resource nvidia.com/gpu=1: the node advertises one GPU; a second 1-GPU pod stays
# Pending with the scheduler's exact message and is scheduled once the first pod is gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"

img_root "$TEST_DIR/img"
printf '#!/bin/sh\nwhile :; do sleep 0.2; done\n' >"$TEST_DIR/img/run.sh"
chmod +x "$TEST_DIR/img/run.sh"
echo '{"Entrypoint":["./run.sh"],"Env":["PATH=/usr/bin:/bin"]}' >"$TEST_DIR/img/image.json"
"$KROLL_BIN" image import "$TEST_DIR/img" test/gpu:1 --data-dir "$KROLL_DATA" >/dev/null
kroll_start --node-resource nvidia.com/gpu=1 --node-name gpu-node
expect_eq "$(kubectl get node gpu-node -o jsonpath='{.status.allocatable.nvidia\.com/gpu}')" 1 "GPU advertised"
for n in g1 g2; do
kubectl apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: $n}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: test/gpu:1
    resources: {limits: {nvidia.com/gpu: 1}}
Y
done
running() { [ "$(kubectl get pod "$1" -o jsonpath='{.status.phase}')" = Running ]; }
wait_for 20 "first GPU pod Running" -- running g1
sleep 1
expect_eq "$(kubectl get pod g2 -o jsonpath='{.status.phase}')" Pending "second GPU pod Pending"
expect_eq "$(kubectl get pod g2 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}')" \
    "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.." \
    "unschedulable message"
kubectl delete pod g1 --wait=false >/dev/null
wait_for 30 "second GPU pod scheduled and Running after the first is gone" -- running g2
finish
