#!/bin/bash
# CDI specs as the source of a node's extended resources: a server started with two
# --cdi-spec-dir (a made-up vendor's spec in each, JSON and YAML, device nodes made with mknod
# in the test dir) shows the spec's device count as capacity and allocatable; the later
# directory overrides a device of the earlier one; a bad spec file is refused (logged) without
# hiding the good ones; a spec written while the server runs shows up at the next heartbeat;
# --node-resource still wins; a pod asking for more devices than the spec has stays Pending.
# (Applying the edits inside a running container is the runtime's part, tested with it.)
. "$(dirname "$0")/lib.sh"

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
finish
