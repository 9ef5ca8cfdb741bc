#!/bin/bash
# t0330: PodDisruptionBudget status and the eviction subresource. R=3 ready pods + minAvailable 2
# gives expected 3 / desired 2 / current 3 / allowed 1; the first eviction is 201, a second one
# right after is 429 with the DisruptionBudget cause; once the replacement is Ready eviction works
# again; Pending pods are evicted regardless; maxUnavailable takes expectedPods from the
# Deployment; two matching budgets give 500; dry-run evicts nothing; kubectl drain prints the
# refusal and then drains once the budget allows it.
. "$(dirname "$0")/lib.sh"

kroll_start --node-name local
# Pods must not run on the server's own node (its kubelet would own their status): cordon it
# and give the scheduler node-1, which no kubelet serves, so pod status is set by hand.
kubectl cordon local >/dev/null
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Node
metadata: {name: node-1}
YAML
kubectl patch node node-1 --subresource=status --type=merge -p \
    '{"status":{"capacity":{"cpu":"8","memory":"16Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null

ready() { # ready POD IP
    kubectl patch pod "$1" --subresource=status --type=merge -p \
        "{\"status\":{\"phase\":\"Running\",\"podIP\":\"$2\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" >/dev/null
}
pdbst() { kubectl get pdb "$1" -o jsonpath='{.status.expectedPods}/{.status.desiredHealthy}/{.status.currentHealthy}/{.status.disruptionsAllowed}'; }
# evict POD [extra deleteOptions JSON]: prints the HTTP code, body in $TEST_DIR/evict. Grace 0:
# no kubelet serves node-1, so a graceful deletion would never finish.
evict() {
    api_curl "/api/v1/namespaces/default/pods/$1/eviction" -o "$TEST_DIR/evict" -w '%{http_code}' \
        -X POST -H 'Content-Type: application/json' \
        -d "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"default\"},\"deleteOptions\":{\"gracePeriodSeconds\":0${2:+,$2}}}"
}
pods() { kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}'; }
all_bound() { ! kubectl get pods -l app=web -o jsonpath='{range .items[*]}[{.spec.nodeName}]{end}' | grep -q '\[\]'; }
ready_all() {
    local n=10
    wait_for 10 "pods bound before their status is set" -- all_bound
    for p in $(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.name}'); do
        n=$((n + 1)); ready "$p" "10.2.0.$n"
    done
}

kubectl create deployment web --image=example/web:1 --replicas=3 >/dev/null
wait_for 10 "3 pods created and bound" -- \
    test "$(kubectl get pods -l app=web -o jsonpath='{.items[*].spec.nodeName}')" = "node-1 node-1 node-1"
ready_all
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web-pdb}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
YAML
wait_for 5 "PDB status expected 3 desired 2 current 3 allowed 1" -- sh_eval 'test "$(pdbst web-pdb)" = "3/2/3/1"'
expect_eq "$(kubectl get pdb web-pdb -o jsonpath='{.status.conditions[0].type}/{.status.conditions[0].status}/{.status.conditions[0].reason}')" \
    "DisruptionAllowed/True/SufficientPods" "DisruptionAllowed condition"
expect_eq "$(kubectl get pdb web-pdb -o jsonpath='{.status.observedGeneration}')" "1" "observedGeneration"

read -r p1 p2 p3 < <(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.name}')
expect_eq "$(evict "$p1" '"dryRun":["All"]')" "201" "dry-run eviction answers 201"
expect_rc 0 "dry-run eviction deletes nothing" -- kubectl get pod "$p1"
expect_eq "$(pdbst web-pdb)" "3/2/3/1" "dry-run eviction leaves the budget alone"

expect_eq "$(evict "$p1")" "201" "first eviction allowed"
expect_match "$(cat "$TEST_DIR/evict")" '"status":"Success"' "eviction answers a Success Status"
wait_for 5 "evicted pod deleted" -- bash -c "! kubectl get pod $p1"
expect_eq "$(evict "$p2")" "429" "second eviction refused"
body=$(cat "$TEST_DIR/evict")
expect_match "$body" '"message":"Cannot evict pod as it would violate the pod.s disruption budget."' "refusal message"
expect_match "$body" '"reason":"DisruptionBudget","message":"The disruption budget web-pdb needs 2 healthy pods and has 2 currently"' \
    "refusal cause"
expect_match "$body" '"reason":"TooManyRequests"' "refusal reason TooManyRequests"
expect_eq "$(kubectl get pdb web-pdb -o jsonpath='{.status.conditions[0].status}/{.status.conditions[0].reason}')" \
    "False/InsufficientPods" "condition False/InsufficientPods at 0 allowed"

# The replacement is Pending: it can be evicted regardless of the budget.
wait_for 10 "replacement pod created" -- sh_eval 'test "$(pods | grep -c Pending)" = 1'
pending=$(pods | awk '$2 == "Pending" {print $1}')
expect_eq "$(evict "$pending")" "201" "Pending pod evicted despite the budget"
wait_for 10 "another replacement created" -- sh_eval 'test "$(pods | grep -c Pending)" = 1'
ready_all
wait_for 5 "budget back to allowed 1" -- sh_eval 'test "$(pdbst web-pdb)" = "3/2/3/1"'
expect_eq "$(evict "$p2")" "201" "eviction allowed again once the replacement is Ready"

# maxUnavailable: expectedPods from the Deployment's replicas.
wait_for 10 "replacement created" -- sh_eval 'test "$(pods | grep -c Pending)" = 1'
ready_all
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web-max}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
YAML
wait_for 5 "maxUnavailable=1: expected 3 desired 2" -- sh_eval 'test "$(pdbst web-max)" = "3/2/3/1"'
kubectl scale deployment web --replicas=4 >/dev/null
wait_for 5 "expectedPods follows the Deployment's replicas" -- \
    test "$(kubectl get pdb web-max -o jsonpath='{.status.expectedPods}/{.status.desiredHealthy}')" = "4/3"
expect_eq "$(evict "$p3")" "500" "two budgets for one pod: 500"
expect_match "$(cat "$TEST_DIR/evict")" 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.' \
    "two budgets message"
kubectl delete pdb web-max >/dev/null
kubectl scale deployment web --replicas=3 >/dev/null
kubectl delete deployment web >/dev/null
kubectl delete pdb web-pdb >/dev/null

# kubectl drain: refused while the budget allows nothing, then drains.
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: db-1, labels: {app: db}}
spec: {nodeName: node-1, containers: [{name: c, image: example/db:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-2, labels: {app: db}}
spec: {nodeName: node-1, containers: [{name: c, image: example/db:1}]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: db-pdb}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: db}}
YAML
ready db-1 10.3.0.1
ready db-2 10.3.0.2
wait_for 5 "db budget computed" -- sh_eval 'test "$(pdbst db-pdb)" = "2/2/2/0"'
kubectl drain node-1 --force --grace-period=0 --timeout=7s >"$TEST_DIR/drain" 2>&1
rc=$?
out=$(cat "$TEST_DIR/drain")
expect_eq "$rc" "1" "drain times out while the budget refuses"
expect_match "$out" 'node/node-1 cordoned' "drain cordons"
expect_match "$out" 'error when evicting pods/"db-[12]" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod.s disruption budget.' \
    "drain prints the refusal"
expect_match "$out" 'global timeout reached: 7s' "drain reports the timeout"
kubectl patch pdb db-pdb --type=merge -p '{"spec":{"minAvailable":0}}' >/dev/null
wait_for 5 "db budget allows 2" -- sh_eval 'test "$(pdbst db-pdb)" = "2/0/2/2"'
expect_rc 0 "drain succeeds once the budget allows" -- kubectl drain node-1 --force --grace-period=0 --timeout=20s
out=$(cat "$TEST_DIR/out")
expect_match "$out" 'pod/db-1 evicted' "db-1 evicted"
expect_match "$out" 'node/node-1 drained' "node drained"
finish
