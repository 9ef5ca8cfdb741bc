#!/usr/bin/env bash
# The kubelet end to end with real kubectl: image store, pods Running/Ready in their own network
# namespace, logs, graceful delete (preStop, then SIGTERM seen by the process), force delete,
# CrashLoopBackOff, ImagePullBackOff, server kill -9 + restart re-adopting running pods, and
# `kroll stop` stopping the pods.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"

IMAGES=$KROLL_BUILD/examples/images
[ -d "$IMAGES/tf-serving-1.0.3" ] || { say "SKIP: no model-server images in $IMAGES"; exit 0; }
unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }

# A shell image (a busybox root, so it also runs as a container): logs SIGTERM and exits 0 on it.
img_root "$TEST_DIR/shimg"
cat >"$TEST_DIR/shimg/serve.sh" <<'SH'
#!/bin/sh
trap 'echo got SIGTERM; exit 0' TERM
echo "serving as $ROLE"
while :; do sleep 0.2; done
SH
chmod +x "$TEST_DIR/shimg/serve.sh"
echo '{"Entrypoint":["./serve.sh"],"Env":["PATH=/usr/bin:/bin","ROLE=shell"],"WorkingDir":""}' \
    >"$TEST_DIR/shimg/image.json"
mkdir -p "$TEST_DIR/bad"

expect_rc 0 "image import" -- "$KROLL_BIN" image import "$IMAGES/tf-serving-1.0.3" \
    docker.io/myrepo/tf-serving:1.0.3 --data-dir "$KROLL_DATA"
expect_rc 0 "image import shell" -- "$KROLL_BIN" image import "$TEST_DIR/shimg" test/sh --data-dir "$KROLL_DATA"
expect_rc 1 "import without image.json fails" -- "$KROLL_BIN" image import "$TEST_DIR/bad" x:1 --data-dir "$KROLL_DATA"
expect_match "$(cat "$TEST_DIR/out")" "has no image.json" "clear import error"
ls_out=$("$KROLL_BIN" image ls --data-dir "$KROLL_DATA")
expect_match "$ls_out" "REPOSITORY +TAG +IMAGE ID +SIZE +CREATED" "image ls header"
expect_match "$ls_out" "myrepo/tf-serving +1.0.3" "image ls lists the import"
expect_match "$ls_out" "test/sh +latest" "no tag means latest"

kroll_start --node-name Kroll-Test
expect_eq "$(kubectl get nodes -o jsonpath='{.items[0].metadata.name}')" "kroll-test" "node name lower-cased"
expect_eq "$(kubectl get node kroll-test -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" "True" "node Ready"
expect_eq "$(kubectl get node kroll-test -o jsonpath='{.status.allocatable.pods}')" "110" "allocatable pods"

cat >"$TEST_DIR/dep.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: model-serving}
spec:
  replicas: 2
  selector: {matchLabels: {app: model}}
  template:
    metadata: {labels: {app: model}}
    spec:
      containers:
      - name: server
        image: myrepo/tf-serving:1.0.3
        args: ["--port=8500", "--rest_api_port=8501", "--model_name=classifier", "--model_base_path=/models/classifier"]
        ports: [{containerPort: 8501}]
        readinessProbe:
          httpGet: {path: /v1/models/classifier, port: 8501}
          periodSeconds: 1
Y
kubectl apply -f "$TEST_DIR/dep.yaml" >/dev/null
ready2() { [ "$(kubectl get deploy model-serving -o jsonpath='{.status.readyReplicas}')" = 2 ]; }
wait_for 30 "deployment pods Running and Ready" -- ready2
P=$(kubectl get pods -l app=model -o jsonpath='{.items[0].metadata.name}')
PUID=$(kubectl get pod "$P" -o jsonpath='{.metadata.uid}')
IP=$(kubectl get pod "$P" -o jsonpath='{.status.podIP}')
expect_match "$IP" '^127\.78\.' "pod IP from 127.78/16"
SHIM=$(cat "$KROLL_DATA/pods/$PUID/shim.pid")
code=$(nsenter --net=/proc/$SHIM/ns/net curl -s -o /dev/null -w '%{http_code}' "http://$IP:8501/v1/models/classifier")
expect_eq "$code" 200 "model answers inside the pod's netns"
expect_match "$(kubectl logs "$P" --tail=1)" "model available" "kubectl logs --tail"
expect_match "$(kubectl get pod "$P" -o jsonpath='{.status.containerStatuses[0].containerID}')" '^kroll://' "containerID"

# A shell pod with preStop: preStop runs, then the process sees SIGTERM; the object goes away.
cat >"$TEST_DIR/sh.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: sh}
spec:
  terminationGracePeriodSeconds: 10
  containers:
  - name: main
    image: test/sh
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo prestop ran >> /proc/1/fd/1; sleep 1"]}
Y
kubectl apply -f "$TEST_DIR/sh.yaml" >/dev/null
running() { [ "$(kubectl get pod "$1" -o jsonpath='{.status.phase}')" = Running ]; }
wait_for 20 "shell pod Running" -- running sh
expect_match "$(kubectl logs sh)" "serving as shell" "image Env applies"
SUID=$(kubectl get pod sh -o jsonpath='{.metadata.uid}')
kubectl delete pod sh --wait=false >/dev/null
gone() { ! kubectl get pod "$1" >/dev/null 2>&1; }
wait_for 15 "graceful delete removes the pod" -- gone sh
expect_match "$(kubectl get events --field-selector involvedObject.name=sh -o jsonpath='{.items[*].message}')" \
    "Stopping container main" "Killing event"

# Force delete: processes are killed at once.
kubectl apply -f "$TEST_DIR/sh.yaml" >/dev/null
wait_for 20 "shell pod Running again" -- running sh
SUID=$(kubectl get pod sh -o jsonpath='{.metadata.uid}')
kubectl delete pod sh --grace-period=0 --force >/dev/null 2>&1
nodir() { [ ! -e "$KROLL_DATA/pods/$1/shim.pid" ]; }
wait_for 10 "force delete stops the shim" -- nodir "$SUID"

# CrashLoopBackOff.
kubectl run crash --image=test/sh --restart=Always --command -- sh -c 'echo crashing; exit 1' >/dev/null
crashloop() { kubectl get pod crash -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -q CrashLoopBackOff; }
wait_for 30 "crashing pod reaches CrashLoopBackOff" -- crashloop
expect_eq "$(kubectl get pod crash -o jsonpath='{.status.phase}')" "Running" "crash-looping pod is phase Running"
expect_match "$(kubectl logs crash --previous)" "crashing" "kubectl logs --previous"
expect_eq "$(kubectl get pod crash -o jsonpath='{.status.containerStatuses[0].lastState.terminated.exitCode}')" "1" "lastState exit code"

# Missing image.
kubectl run nope --image=myrepo/nope:9 >/dev/null
pullbo() { kubectl get pod nope -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -Eq 'ImagePullBackOff|ErrImagePull'; }
wait_for 20 "missing image: ErrImagePull/ImagePullBackOff" -- pullbo
expect_match "$(kubectl get events --field-selector involvedObject.name=nope -o jsonpath='{.items[*].message}')" \
    'Failed to pull image "myrepo/nope:9"' "pull failure event"
expect_match "$(kubectl logs nope 2>&1)" 'is waiting to start: (ErrImagePull|ImagePullBackOff)' "logs of a waiting container"

# Server kill -9 and restart: running pods are re-adopted, not restarted.
PIDS_BEFORE=$(for u in "$KROLL_DATA"/pods/*/; do cat "$u/state.json" 2>/dev/null | python3 -c 'import json,sys;s=json.load(sys.stdin);print(*[c.get("pid") for c in s["containers"] if c["state"]=="running"])'; done | sort | tr '\n' ' ')
RC_BEFORE=$(kubectl get pod "$P" -o jsonpath='{.status.containerStatuses[0].restartCount}')
kill -9 "$KROLL_SERVER_PID"
sleep 1
kroll_start --node-name Kroll-Test
wait_for 30 "deployment Ready after restart" -- ready2
PIDS_AFTER=$(for u in "$KROLL_DATA"/pods/*/; do cat "$u/state.json" 2>/dev/null | python3 -c 'import json,sys;s=json.load(sys.stdin);print(*[c.get("pid") for c in s["containers"] if c["state"]=="running"])'; done | sort | tr '\n' ' ')
expect_match "$PIDS_AFTER" "$(echo "$PIDS_BEFORE" | awk '{print $1}')" "same container pids after restart"
expect_eq "$(kubectl get pod "$P" -o jsonpath='{.status.containerStatuses[0].restartCount}')" "$RC_BEFORE" "same restartCount"
expect_eq "$(cat "$KROLL_DATA/pods/$PUID/shim.pid")" "$SHIM" "same shim"

# kroll stop stops the pods too.
expect_rc 0 "kroll stop" -- "$KROLL_BIN" stop --data-dir "$KROLL_DATA"
proc_running "$SHIM"; expect_eq "$?" 1 "shim stopped by kroll stop"
finish
