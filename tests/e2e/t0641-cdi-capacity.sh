#!/bin/bash
# CDI specs as the source of a node's extended resources: a server started with two
# --cdi-spec-dir (a made-up vendor's spec in each, JSON and YAML, device nodes made with mknod
# in the test dir) shows the spec's device count as capacity and allocatable; the later
# directory overrides a device of the earlier one; a bad spec file is refused (logged) without
# hiding the good ones; a spec written while the server runs shows up at the next heartbeat;
# --node-resource still wins; a pod asking for more devices than the spec has stays Pending.
# Under runc (where it can run here): two pods asking for one device each of a two-device kind
# get different devices, and each sees exactly its device node (usable: the cgroup allows it),
# the spec's and the device's env and the spec's mount; a third stays Pending until a device's
# pod is deleted, then runs with the freed device, which after kill -9 of the server needs the
# allocation restored from the pod dirs; with --node-resource saying more than the specs have,
# a pod the kubelet has no device for waits in CreateContainerError until one is freed; an init
# container's device goes to the app container after it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"

ETC=$TEST_DIR/cdi-etc
RUN=$TEST_DIR/cdi-run
mkdir -p "$ETC" "$RUN" "$TEST_DIR/dev"
# Harmless character devices: the null device's numbers (1,3) under the test dir.
for i in 0 1 2; do mknod "$TEST_DIR/dev/example$i" c 1 3 || { fail "mknod"; finish; }; done
cat >"$ETC/example.json" <<EOF
{"cdiVersion": "0.5.0", "kind": "example.com/gpu",
 "containerEdits": {"env": ["EXAMPLE_DRIVER=1"]},
 "devices": [
  {"name": "gpu0", "containerEdits": {"deviceNodes": [{"path": "/dev/example0", "hostPath": "$TEST_DIR/dev/example0"}]}},
  {"name": "gpu1", "containerEdits": {"deviceNodes": [{"path": "/dev/example1", "hostPath": "$TEST_DIR/dev/example1"}]}}]}
EOF
cat >"$RUN/example.yaml" <<EOF
cdiVersion: 0.6.0
kind: example.com/gpu
devices:
- name: gpu1
  containerEdits:
    env: [EXAMPLE_OVERRIDDEN=1]
    deviceNodes: [{path: /dev/example1, hostPath: $TEST_DIR/dev/example1}]
- name: gpu2
  containerEdits:
    deviceNodes: [{path: /dev/example2, hostPath: $TEST_DIR/dev/example2, permissions: rw}]
EOF
echo '{"cdiVersion": "0.5.0", "kind": "bad/"' >"$ETC/broken.json"

kroll_start --cdi-spec-dir "$ETC" --cdi-spec-dir "$RUN" --node-name cdi-node
node_res() { kubectl get node cdi-node -o jsonpath="{.status.$1.example\\.com/$2}"; }
expect_eq "$(node_res capacity gpu)" 3 "capacity example.com/gpu from the specs (gpu1 defined twice counts once)"
expect_eq "$(node_res allocatable gpu)" 3 "allocatable example.com/gpu from the specs"
expect_match "$(cat "$TEST_DIR/server.log")" 'CDI spec refused.*broken.json' "the broken spec file is refused and logged"
expect_match "$(cat "$TEST_DIR/server.log")" 'CDI devices.*kind=example.com/gpu count=3' "the server logs the devices it found"

# A spec that appears later (a driver writing /var/run/cdi at boot) counts at the next heartbeat.
cat >"$RUN/nic.json" <<'EOF'
{"cdiVersion": "0.5.0", "kind": "example.com/nic", "devices": [{"name": "nic0", "containerEdits": {"env": ["NIC=0"]}}]}
EOF
wait_for 40 "a spec written while running shows up as capacity" -- sh_eval 'test "$(node_res capacity nic)" = 1'

# A pod asking for more than the spec has stays Pending with the scheduler's reason.
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: too-many}
spec:
  containers:
  - name: main
    image: test/none:1
    resources: {limits: {example.com/gpu: 4}}
Y
wait_for 20 "a pod asking for 4 of 3 devices is unschedulable" -- sh_eval \
    'kubectl get pod too-many -o jsonpath="{.status.conditions[?(@.type==\"PodScheduled\")].message}" | grep -q "Insufficient example.com/gpu"'
kubectl delete pod too-many --wait=false >/dev/null 2>&1

# --node-resource keeps the last word.
kroll_stop
kroll_start --cdi-spec-dir "$ETC" --cdi-spec-dir "$RUN" --node-name cdi-node --node-resource example.com/gpu=1
wait_for 30 "--node-resource overrides the spec's count" -- sh_eval 'test "$(node_res capacity gpu)" = 1'
expect_eq "$(node_res capacity nic)" 1 "the other kinds still come from the specs"

# ---- the devices inside runc containers ----
if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null || [ ! -x /bin/busybox ] ||
    ! unshare -n true 2>/dev/null; then
    say "SKIP: the runc part (needs root, runc, busybox-static, network namespaces)"
    finish
fi
kroll_stop
ACME=$TEST_DIR/cdi-acme
mkdir -p "$ACME"
mknod "$TEST_DIR/dev/acme0" c 1 3 && mknod "$TEST_DIR/dev/acme1" c 1 5 || { fail "mknod"; finish; }
echo acme-firmware-7 >"$TEST_DIR/firmware.bin"
cat >"$ACME/acme.json" <<EOF
{"cdiVersion": "0.6.0", "kind": "acme.example/gpu",
 "containerEdits": {"env": ["ACME_DRIVER=1"],
   "mounts": [{"hostPath": "$TEST_DIR/firmware.bin", "containerPath": "/opt/acme/firmware.bin", "options": ["ro", "bind"]}]},
 "devices": [
  {"name": "dev0", "containerEdits": {"env": ["ACME_VISIBLE=0"], "deviceNodes": [{"path": "/dev/acme0", "hostPath": "$TEST_DIR/dev/acme0"}]}},
  {"name": "dev1", "containerEdits": {"env": ["ACME_VISIBLE=1"], "deviceNodes": [{"path": "/dev/acme1", "hostPath": "$TEST_DIR/dev/acme1"}]}}]}
EOF
kroll_start --runtime=runc --cdi-spec-dir "$ACME" --node-name cdi-node
wait_for 30 "the runc server's node shows 2 acme devices" -- sh_eval \
    'test "$(kubectl get node cdi-node -o jsonpath="{.status.allocatable.acme\\.example/gpu}")" = 2'
bbimage test/bb
gpu_pod() {
    kubectl apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: test/bb
    command: ["sh", "-c", "ls /dev | grep acme | sed s/^/node=/; env | grep ^ACME_ | sort; cat /opt/acme/firmware.bin; head -c 3 /dev/acme* | wc -c | sed s/^/read=/; echo done; sleep 1000"]
    resources: {limits: {acme.example/gpu: 1}}
Y
}
nodes_of() { kubectl logs "$1" | sed -n 's/^node=//p' | tr '\n' ' '; }
gpu_pod g1
gpu_pod g2
wait_running g1 60 && wait_running g2 60
wait_for 30 "both containers report" -- sh_eval \
    'kubectl logs g1 | grep -q done && kubectl logs g2 | grep -q done'
l1=$(kubectl logs g1) l2=$(kubectl logs g2) n1=$(nodes_of g1) n2=$(nodes_of g2)
say "g1: $n1; g2: $n2"
expect_match "$n1" '^acme[01] $' "g1 sees exactly one device node"
expect_match "$n2" '^acme[01] $' "g2 sees exactly one device node"
[ "$n1" != "$n2" ] && pass "the two pods got different devices" || fail "both pods got $n1"
for l in "$l1" "$l2"; do
    d=$(echo "$l" | sed -n 's/^node=acme//p')
    expect_match "$l" "ACME_VISIBLE=$d" "the device's env goes with its node (acme$d)"
    expect_match "$l" 'ACME_DRIVER=1' "the spec's env is set"
    expect_match "$l" 'acme-firmware-7' "the spec's mount is there"
done
expect_match "$(printf '%s\n%s\n' "$l1" "$l2" | grep ^read=)" 'read=3' "the zero-like device can be read (the cgroup allows it)"
expect_match "$(cat "$(pod_dir g1)/devices.json")" '"main":\["acme.example/gpu=dev[01]"\]' \
    "the allocation is recorded in the pod dir"

gpu_pod g3
wait_for 20 "a third pod asking for one is unschedulable" -- sh_eval \
    'kubectl get pod g3 -o jsonpath="{.status.conditions[?(@.type==\"PodScheduled\")].message}" | grep -q "Insufficient acme.example/gpu"'

# kill -9 and restart: the running pods keep their devices, recorded in their pod dirs.
kill -KILL "$KROLL_SERVER_PID"
kroll_start --runtime=runc --cdi-spec-dir "$ACME" --node-name cdi-node
expect_eq "$(grep -c 'CDI devices restored' "$TEST_DIR/server.log")" 2 "both allocations are restored at start"

# Free the higher device: without the restored allocation g3 would get the lower one, which
# the other pod still uses.
if [ "$n1" = "acme1 " ]; then gone=g1 kept=g2 kn=$n2; else gone=g2 kept=g1 kn=$n1; fi
kubectl delete pod $gone >/dev/null 2>&1
wait_running g3 90
wait_for 30 "g3 reports" -- sh_eval 'kubectl logs g3 | grep -q done'
expect_eq "$(nodes_of g3)" "acme1 " "g3 got the device $gone freed, not the one $kept holds"
expect_eq "$(nodes_of $kept)" "$kn" "$kept still has its device"

# When the node says more than the specs have (--node-resource wins for the scheduler), the
# kubelet cannot allocate: the container waits with the reason, the message and an event, and
# starts once a device is free.
kroll_stop
kroll_start --runtime=runc --cdi-spec-dir "$ACME" --node-name cdi-node --node-resource acme.example/gpu=3
wait_for 30 "--node-resource says 3" -- sh_eval \
    'test "$(kubectl get node cdi-node -o jsonpath="{.status.allocatable.acme\\.example/gpu}")" = 3'
gpu_pod g4
w4() { kubectl get pod g4 -o jsonpath="{.status.containerStatuses[0].state.waiting.$1}"; }
wait_for 60 "a pod the kubelet has no device for waits in CreateContainerError" -- sh_eval \
    'test "$(w4 reason)" = CreateContainerError'
expect_match "$(w4 message)" 'cannot allocate the CDI devices of container main: insufficient acme.example/gpu: 1 requested, 0 free of 2' \
    "the waiting message says why"
expect_match "$(kubectl describe pod g4)" 'Failed.*insufficient acme.example/gpu' "kubectl describe shows the event"
kubectl delete pod g3 >/dev/null 2>&1
wait_running g4 90
wait_for 30 "g4 reports" -- sh_eval 'kubectl logs g4 | grep -q done'
expect_eq "$(nodes_of g4)" "acme1 " "g4 runs with the device g3 freed"

# An init container's device goes to the app container after it (the kubelet's device manager
# reuses it): with one device free, a pod whose init and main container ask for one each runs.
kubectl delete pod g4 >/dev/null 2>&1
wait_for 60 "g4 is gone" -- sh_eval '! kubectl get pod g4 >/dev/null 2>&1'
kubectl apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: g5}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: init
    image: test/bb
    command: ["sh", "-c", "ls /dev | grep acme | sed s/^/node=/"]
    resources: {limits: {acme.example/gpu: 1}}
  containers:
  - name: main
    image: test/bb
    command: ["sh", "-c", "ls /dev | grep acme | sed s/^/node=/; echo done; sleep 1000"]
    resources: {limits: {acme.example/gpu: 1}}
Y
wait_running g5 90
wait_for 30 "g5 reports" -- sh_eval 'kubectl logs g5 -c main | grep -q done'
expect_eq "$(kubectl logs g5 -c main | sed -n 's/^node=//p')" "$(kubectl logs g5 -c init | sed -n 's/^node=//p')" \
    "the main container got the device its init container had"
expect_eq "$(kubectl logs g5 -c main | sed -n 's/^node=//p')" acme1 "the free one"
pods_gone
finish
