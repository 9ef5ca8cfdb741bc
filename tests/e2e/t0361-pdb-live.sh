#!/bin/bash
# t0361: PodDisruptionBudgets against real pods run by the kubelet (readiness from probes, not
# patched status): the R=3 / minAvailable=2 status (item 46), 201 then 429 then 201 once the
# replacement is Ready (47), maxUnavailable=1 taking expectedPods from the Deployment (48), a
# rolling update completing under a budget that allows nothing (49), a Pending pod evicted
# regardless (50), and the tutorial's `kubectl drain NODE --ignore-daemonsets` blocked by the
# budget with kubectl's retry message, then allowed, and `kubectl uncordon`.
# (t0330 covers the same rules on a kubelet-less node with hand-set pod status.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start --node-name node-1

pdbst() { kubectl get pdb "$1" -o jsonpath='{.status.expectedPods}/{.status.desiredHealthy}/{.status.currentHealthy}/{.status.disruptionsAllowed}'; }
# evict POD: POSTs the Eviction kubectl drain sends; prints the HTTP code, body in $TEST_DIR/evict.
evict() {
    api_curl "/api/v1/namespaces/default/pods/$1/eviction" -o "$TEST_DIR/evict" -w '%{http_code}' \
        -X POST -H 'Content-Type: application/json' \
        -d "{\"kind\":\"Eviction\",\"apiVersion\":\"policy/v1\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"default\"},\"deleteOptions\":{}}"
}
ready_pods() { # names of Ready, non-terminating pods of app=web
    kubectl get pods -l app=web -o json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["items"]:
    if p["metadata"].get("deletionTimestamp"):
        continue
    if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])):
        print(p["metadata"]["name"])'
}
pdb_apply() { # NAME KNOB VALUE
    kubectl apply -f - >/dev/null <<Y
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: $1}
spec:
  $2: $3
  selector: {matchLabels: {app: web}}
Y
}

dep_apply web 3 test/app:1
wait_for 40 "R=3 Deployment available" -- dep_complete web 3

# Item 46.
pdb_apply web-pdb minAvailable 2
wait_for 10 "item 46: expected 3 desired 2 current 3 allowed 1" -- sh_eval 'test "$(pdbst web-pdb)" = "3/2/3/1"'
expect_match "$(kubectl get pdb web-pdb --no-headers)" '^web-pdb +2 +N/A +1 +' "kubectl get pdb columns"

# Item 47. The node is cordoned while the two evictions are made: a replacement that became
# Ready in between would rightly allow the second eviction (as upstream), so it must not start.
read -r p1 p2 _ < <(ready_pods | xargs)
kubectl cordon node-1 >/dev/null
expect_eq "$(evict "$p1")" "201" "item 47: first eviction 201"
expect_match "$(cat "$TEST_DIR/evict")" '"status":"Success"' "item 47: Success Status body"
expect_eq "$(evict "$p2")" "429" "item 47: immediate second eviction 429"
expect_match "$(cat "$TEST_DIR/evict")" '"causes":\[\{"reason":"DisruptionBudget","message":"The disruption budget web-pdb needs 2 healthy pods and has 2 currently"' \
    "item 47: cause DisruptionBudget"
expect_rc 0 "item 47: refused pod untouched" -- test -z "$(kubectl get pod "$p2" -o jsonpath='{.metadata.deletionTimestamp}')"
kubectl uncordon node-1 >/dev/null
three_ready() { [ "$(ready_pods | wc -l)" = 3 ] && [ "$(pdbst web-pdb)" = "3/2/3/1" ]; }
wait_for 30 "item 47: replacement Ready, budget back to allowed 1" -- three_ready
expect_rc 1 "item 47: evicted pod gone" -- kubectl get pod "$p1"
expect_eq "$(evict "$p2")" "201" "item 47: eviction allowed again"
wait_for 30 "replacement of the second evicted pod Ready" -- three_ready
kubectl delete pdb web-pdb >/dev/null

# Item 48.
pdb_apply web-max maxUnavailable 1
wait_for 10 "item 48: maxUnavailable=1: expected 3 desired 2 current 3 allowed 1" -- sh_eval 'test "$(pdbst web-max)" = "3/2/3/1"'
kubectl scale deploy web --replicas=5 >/dev/null
wait_for 5 "item 48: expectedPods follows Deployment replicas at once (5/4)" -- \
    test "$(kubectl get pdb web-max -o jsonpath='{.status.expectedPods}/{.status.desiredHealthy}')" = "5/4"
kubectl scale deploy web --replicas=3 >/dev/null
wait_for 30 "scaled back to 3" -- dep_complete web 3
kubectl delete pdb web-max >/dev/null

# Item 49: a budget that allows nothing does not slow a rollout down.
pdb_apply web-zero maxUnavailable 0
wait_for 10 "item 49: budget allows 0" -- sh_eval 'test "$(pdbst web-zero)" = "3/3/3/0"'
read -r p1 _ < <(ready_pods | xargs)
expect_eq "$(evict "$p1")" "429" "item 49: eviction of a ready pod refused"
kubectl set image deploy/web app=test/app:2 >/dev/null
wait_for 40 "item 49: rolling update completes under the budget" -- dep_complete web 3
expect_eq "$(kubectl get pods -l app=web -o jsonpath='{.items[*].spec.containers[0].image}')" \
    "test/app:2 test/app:2 test/app:2" "item 49: all pods run the new image"
expect_rc 0 "item 49: rollout status succeeds" -- kubectl rollout status deploy/web --timeout=5s

# Item 50: a Pending pod is evicted regardless of the budget (it cannot fit: 1000 cpus).
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: web-big, labels: {app: web}}
spec:
  containers: [{name: app, image: test/app:1, resources: {requests: {cpu: "1000"}}}]
Y
wait_for 10 "item 50: big pod Pending (Unschedulable)" -- sh_eval 'test "$(kubectl get pod web-big -o jsonpath='\''{.status.phase}/{.status.conditions[0].reason}'\'')" = "Pending/Unschedulable"'
expect_eq "$(kubectl get pod web-big -o jsonpath='{.status.conditions[0].message}')" \
    "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.." \
    "item 50: more cpu than the node has: preemption is not helpful"
# maxUnavailable needs each pod's controller scale; an unmanaged pod makes that fail upstream.
syncfailed() {
    [ "$(kubectl get pdb web-zero -o jsonpath='{.status.disruptionsAllowed}/{.status.conditions[?(@.type=="DisruptionAllowed")].reason}/{.status.conditions[?(@.type=="DisruptionAllowed")].message}')" = \
      '0/SyncFailed/found no controller ref for pod "web-big"' ]
}
wait_for 5 "item 50: unmanaged pod under a maxUnavailable budget: SyncFailed, allowed 0" -- syncfailed
expect_match "$(events_for web-zero)" '^NoControllerRef found no controller ref for pod "web-big"' \
    "NoControllerRef event on the budget"
expect_eq "$(evict web-big)" "201" "item 50: Pending pod evicted despite the budget"
wait_for 10 "item 50: Pending pod deleted" -- bash -c '! kubectl get pod web-big'
wait_for 5 "budget computes again once the unmanaged pod is gone" -- sh_eval 'test "$(pdbst web-zero)" = "3/3/3/0"'
kubectl delete pdb web-zero >/dev/null

# The tutorial's drain: blocked by minAvailable 3 (allowed 0), then allowed.
pdb_apply web-pdb minAvailable 3
wait_for 10 "drain: budget allows 0" -- sh_eval 'test "$(pdbst web-pdb)" = "3/3/3/0"'
kubectl drain node-1 --ignore-daemonsets --timeout=8s >"$TEST_DIR/drain" 2>&1
rc=$?
out=$(cat "$TEST_DIR/drain")
expect_eq "$rc" "1" "drain fails at its timeout while the budget refuses"
expect_match "$out" '^node/node-1 cordoned$' "drain cordons the node"
expect_match "$out" "^evicting pod default/web-" "drain prints evicting pod"
expect_match "$out" '^error when evicting pods/"web-[a-z0-9-]+" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod.s disruption budget\.$' \
    "drain prints kubectl's retry message"
refusals=$(echo "$out" | grep -c '^error when evicting')
expect_match "$refusals" '^([6-9]|1[0-9])$' "each of 3 pods refused, retried after 5 s and refused again ($refusals refusals)"
expect_match "$out" 'global timeout reached: 8s' "drain reports the timeout"
expect_eq "$(kubectl get node node-1 -o jsonpath='{.spec.unschedulable}')" "true" "node stays cordoned"
expect_match "$(kubectl get node node-1 --no-headers)" '^node-1 +Ready,SchedulingDisabled ' "node STATUS Ready,SchedulingDisabled"
expect_eq "$(ready_pods | wc -l)" "3" "no pod evicted while refused"

kubectl patch pdb web-pdb --type=merge -p '{"spec":{"minAvailable":2}}' >/dev/null
wait_for 10 "budget allows 1" -- sh_eval 'test "$(pdbst web-pdb)" = "3/2/3/1"'
kubectl drain node-1 --ignore-daemonsets --timeout=40s >"$TEST_DIR/drain" 2>&1 &
dpid=$!
KROLL_PIDS="$KROLL_PIDS $dpid"
# One pod goes at once; its replacement cannot be scheduled on the cordoned node, so the other two
# wait until the budget is lowered.
one_pending() { [ "$(kubectl get pods -l app=web --field-selector=status.phase=Pending -o name | wc -l)" = 1 ]; }
wait_for 15 "drain evicts one pod; its replacement stays Pending on the cordoned node" -- one_pending
expect_match "$(kubectl get pods -l app=web --field-selector=status.phase=Pending -o jsonpath='{.items[0].status.conditions[0].message}')" \
    '^0/1 nodes are available: 1 node\(s\) were unschedulable\. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling\.\.$' \
    "replacement Unschedulable: node(s) were unschedulable, preemption not helpful"
sleep 1
kubectl patch pdb web-pdb --type=merge -p '{"spec":{"minAvailable":0}}' >/dev/null
wait "$dpid"
rc=$?
out=$(cat "$TEST_DIR/drain")
expect_eq "$rc" "0" "drain succeeds once the budget allows"
expect_eq "$(echo "$out" | grep -c '^pod/web-.* evicted$')" "3" "drain prints pod/... evicted for the 3 pods"
expect_match "$out" 'error when evicting pods/.*will retry after 5s' "drain retried while the budget refused"
expect_eq "$(echo "$out" | tail -n 1)" "node/node-1 drained" "drain ends with node drained"
expect_eq "$(kubectl get pods -l app=web --field-selector=status.phase!=Pending -o name)" "" \
    "no web pod left running on the drained node"

expect_eq "$(kubectl uncordon node-1)" "node/node-1 uncordoned" "kubectl uncordon output"
expect_eq "$(kubectl get node node-1 -o jsonpath='{.spec.unschedulable}')" "" "node schedulable again"
expect_match "$(kubectl get node node-1 --no-headers)" '^node-1 +Ready ' "node STATUS Ready"
wait_for 40 "Deployment back to 3 available after uncordon" -- dep_complete web 3
finish
