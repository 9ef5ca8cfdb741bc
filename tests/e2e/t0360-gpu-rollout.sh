#!/bin/bash
# t0360: scheduling with an extended resource on a 1-GPU node (conformance items 44, 45).
# A R=1 1-GPU Deployment updated with the default strategy leaves the new pod Pending with
# PodScheduled=False/Unschedulable and the scheduler's message (44), never completes and reports
# ProgressDeadlineExceeded while the old pod keeps running; switching to maxSurge 0 /
# maxUnavailable 1 completes it, and a recorded watch shows the new pod bound only after the old
# pod has fully terminated (45). The app takes 2 s to exit on SIGTERM, so termination is visible.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start --node-resource nvidia.com/gpu=1 --node-name gpu-node

# gpu_apply IMAGE [spec lines...]: Deployment "g" (R=1) with a 1-GPU limit and TERM_DELAY 2.
gpu_apply() {
    local img=$1; shift
    dep_manifest g 1 "$img" "  progressDeadlineSeconds: 10" "$@" |
        sed '/^        image:/a\        resources: {limits: {nvidia.com/gpu: 1}}\n        env: [{name: TERM_DELAY, value: "2"}]' |
        kubectl apply -f - >/dev/null
}
pods_of() { # RS-NAME: its pods
    kubectl get pods -l "pod-template-hash=${1##*-}" -o jsonpath='{.items[*].metadata.name}'
}
podcond() { # POD FIELD of the PodScheduled condition
    kubectl get pod "$1" -o jsonpath="{.status.conditions[?(@.type==\"PodScheduled\")].$2}"
}

gpu_apply test/app:1
wait_for 40 "R=1 GPU Deployment available" -- dep_complete g 1
old=$(rs_names g)
oldpod=$(pods_of "$old")
expect_eq "$(kubectl get pod "$oldpod" -o jsonpath='{.spec.nodeName}')" "gpu-node" "GPU pod bound to the GPU node"

# Item 44/45a: default strategy (surge 1, unavailable 0) deadlocks on the single GPU.
kubectl set image deploy/g app=test/app:2 >/dev/null
has_new_rs() { [ "$(rs_names g | wc -l)" = 2 ]; }
wait_for 10 "new ReplicaSet created" -- has_new_rs
new=$(rs_names g | grep -v "^$old\$")
new_pod_unsched() { [ -n "$(pods_of "$new")" ] && [ "$(podcond "$(pods_of "$new")" reason)" = Unschedulable ]; }
wait_for 10 "item 44: new pod marked Unschedulable" -- new_pod_unsched
np=$(pods_of "$new")
expect_eq "$(podcond "$np" status)" "False" "item 44: PodScheduled status False"
msg=$(podcond "$np" message)
expect_eq "${msg%% preemption:*}" "0/1 nodes are available: 1 Insufficient nvidia.com/gpu." \
    "item 44: message prefix"
expect_eq "$msg" "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.." \
    "item 44: full upstream message (double period)"
expect_eq "$(kubectl get pod "$np" -o jsonpath='{.status.phase}/{.spec.nodeName}')" "Pending/" \
    "item 44: phase Pending, not bound"
expect_match "$(kubectl get pod "$np" --no-headers)" "^$np +0/1 +Pending +0 " "item 44: kubectl get pods shows Pending"
expect_match "$(kubectl get events --field-selector "involvedObject.name=$np" \
    -o jsonpath='{range .items[*]}{.type} {.reason} {.source.component}: {.message}{"\n"}{end}')" \
    "^Warning FailedScheduling default-scheduler: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu\." \
    "item 44: Warning FailedScheduling event from default-scheduler"
expect_match "$(kubectl describe pod "$np")" "PodScheduled +False" "item 44: describe shows PodScheduled False"

exceeded() { [ "$(dep_cond g Progressing reason)" = ProgressDeadlineExceeded ]; }
wait_for 30 "item 45: Progressing becomes ProgressDeadlineExceeded" -- exceeded
expect_eq "$(dep_cond g Progressing status)/$(dep_cond g Progressing message)" \
    "False/ReplicaSet \"$new\" has timed out progressing." "item 45: condition False with the timeout message"
out=$(kubectl rollout status deploy/g 2>&1); rc=$?
expect_eq "$rc/$out" "1/error: deployment \"g\" exceeded its progress deadline" "item 45: rollout status fails"
expect_eq "$(rs_field "$old" .spec.replicas)/$(rs_field "$new" .spec.replicas)" "1/1" \
    "item 45: old RS never scaled down, new RS stays at 1"
expect_eq "$(kubectl get pod "$oldpod" -o jsonpath='{.status.phase}/{.metadata.deletionTimestamp}')" "Running/" \
    "item 45: old pod keeps running"
expect_eq "$(kubectl get pod "$np" -o jsonpath='{.status.phase}')" "Pending" "item 45: new pod still Pending"

# Item 45b: the remedy. maxSurge 0 / maxUnavailable 1 deletes the old pod first; the Pending pod
# binds only once the old one is gone (terminating pods still hold their GPU).
trace_start g
t0=$(date +%s)
kubectl patch deploy g --type=merge -p \
    '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}}}' >/dev/null
wait_for 40 "item 45: rollout completes with maxSurge 0 / maxUnavailable 1" -- dep_complete g 1
expect_eq "$(dep_cond g Progressing reason)" "NewReplicaSetAvailable" "item 45: Progressing NewReplicaSetAvailable"
expect_rc 0 "item 45: rollout status succeeds" -- kubectl rollout status deploy/g --timeout=5s
# Third revision from a clean state: the new pod is created while the old one terminates.
kubectl set image deploy/g app=test/app:3 >/dev/null
wait_for 40 "item 45: next update completes too" -- dep_complete g 1
trace_stop

# check_order POD: from the raw pod watch, the pod that most recently started terminating before
# POD was bound must have finished (phase Succeeded/Failed, or DELETED) at a lower
# resourceVersion than POD's binding: a terminating pod still holds its GPU.
check_order() {
    python3 - "$TEST_DIR/watch.g" "$1" <<'PY'
import json, sys
evs = []
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    o = e.get("object", {})
    if o.get("kind") == "Pod":
        evs.append((int(o["metadata"]["resourceVersion"]), e["type"], o))
evs.sort(key=lambda t: t[0])
me = sys.argv[2]
name = lambda o: o["metadata"]["name"]
bind = next((rv for rv, t, o in evs if name(o) == me and o["spec"].get("nodeName")), None)
term = {}
for rv, t, o in evs:
    if name(o) != me and o["metadata"].get("deletionTimestamp") and name(o) not in term:
        term[name(o)] = rv
olds = sorted((rv, n) for n, rv in term.items() if bind is not None and rv < bind)
if not olds:
    print("bind", bind, "no terminating pod before it"); sys.exit(1)
old = olds[-1][1]
done = next((rv for rv, t, o in evs if name(o) == old and
             (t == "DELETED" or o.get("status", {}).get("phase") in ("Succeeded", "Failed"))), None)
print("old %s terminating at %d finished at %s, new bound at %d" % (old, olds[-1][0], done, bind))
sys.exit(0 if done is not None and done < bind else 1)
PY
}
out=$(check_order "$np"); rc=$?
expect_eq "$rc" 0 "item 45: pending pod bound only after the old pod fully terminated ($out)"
p3=$(pods_of "$(rs_names g | tail -n 1)")
out=$(check_order "$p3"); rc=$?
expect_eq "$rc" 0 "item 45: next revision's pod bound only after the old pod fully terminated ($out)"
was_unsched() {
    grep -F "\"name\":\"$p3\"" "$TEST_DIR/watch.g" | grep -q '"reason":"Unschedulable"'
}
expect_rc 0 "item 45: new pod was Unschedulable while the old pod was terminating" -- was_unsched
expect_eq "$(kubectl get pods -l app=g -o jsonpath='{.items[*].status.phase}')" "Running" \
    "one GPU pod running at the end"
# The message lists every reason, "count reason" strings sorted as strings, and tells resolvable
# shortages (preemption found no victims) from unresolvable ones (cordoned node, or a request
# larger than the node's whole allocatable: preemption is not helpful).
podmsg() { podcond "$1" message; }
mkpod() { # NAME CPU GPU MEMORY
    kubectl apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  containers:
  - name: app
    image: test/app:1
    resources: {limits: {cpu: "$2", nvidia.com/gpu: $3, memory: "$4"}}
Y
}
mkpod big 100m 2 100Ti
wait_for 10 "all insufficient resources of a node are reported" -- sh_eval 'test "$(podmsg big)" = "0/1 nodes are available: 1 Insufficient memory, 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.."'
kubectl delete pod big --wait=false >/dev/null
for n in n1 n2; do
    kubectl apply -f - >/dev/null <<Y
apiVersion: v1
kind: Node
metadata: {name: $n}
Y
    kubectl patch node "$n" --subresource=status --type=merge -p \
        '{"status":{"capacity":{"cpu":"50m","memory":"1Gi","pods":"110"},"allocatable":{"cpu":"50m","memory":"1Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
done
kubectl cordon n2 >/dev/null
mkpod multi 100m 1 1Mi
wait_for 10 "three nodes: reasons counted per node and sorted as \"count reason\" strings" -- sh_eval 'test "$(podmsg multi)" = "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable, 2 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.."'

kubectl delete pod multi --wait=false >/dev/null
finish
