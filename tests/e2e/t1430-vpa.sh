#!/bin/bash
# t1430: VerticalPodAutoscaler recommendations (autoscaling.k8s.io/v1). A Deployment whose pod
# burns CPU with a 10m request: a VPA in updateMode Off gives a recommendation within 60 s whose
# CPU target exceeds the request, lowerBound <= target <= upperBound, the 250Mi memory minimum,
# `kubectl get vpa` with the CRD's columns; a second VPA with maxAllowed caps its target and
# keeps the uncapped one; switched to Initial, a new pod of the Deployment starts with the
# recommended requests (memory limit scaled in proportion) and upstream's annotations, and with
# RequestsOnly a request capped at its limit; Auto is
# reported as applied as Initial; bad specs are refused with 422 and their causes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"

kroll_start
mkimage test/burn 'trap "exit 0" TERM; while :; do :; done'
cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: burner}
spec:
  replicas: 1
  selector: {matchLabels: {app: burner}}
  template:
    metadata: {labels: {app: burner}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: test/burn
        imagePullPolicy: Never
        resources:
          requests: {cpu: 10m, memory: 16Mi}
          limits: {memory: 64Mi}
---
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: burner}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: burner}
  updatePolicy: {updateMode: "Off"}
---
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: capped}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: burner}
  updatePolicy: {updateMode: "Off"}
  resourcePolicy:
    containerPolicies:
    - {containerName: "*", maxAllowed: {cpu: 20m}, controlledResources: [cpu]}
Y

# milli-units of a quantity: cpu "123m" / "2", memory "262144k" / "287309824".
milli() {
    python3 -c 'import sys,re
s=sys.argv[1]; m=re.fullmatch(r"([0-9.]+)([a-zA-Z]*)",s)
f={"":1000,"m":1,"k":1e6,"M":1e9,"G":1e12,"T":1e15,"Ki":1024e3,"Mi":1024**2*1e3,"Gi":1024**3*1e3}
print(int(float(m.group(1))*f[m.group(2)]) if m else -1)' "$1"
}
rec() { kubectl get vpa "$1" -o jsonpath="{.status.recommendation.containerRecommendations[0].$2}"; }

wait_for 90 "VPA burner provides a CPU target above the 10m request" -- sh_eval \
    't=$(rec burner target.cpu) && [ -n "$t" ] && [ "$(milli "$t")" -gt 10 ]'
say "status: $(kubectl get vpa burner -o jsonpath='{.status.recommendation}')"
expect_eq "$(kubectl get vpa burner -o jsonpath='{.status.conditions[?(@.type=="RecommendationProvided")].status}')" \
    "True" "RecommendationProvided True"
expect_eq "$(rec burner containerName)" "burn" "containerName"
for r in cpu memory; do
    lo=$(milli "$(rec burner lowerBound.$r)"); tg=$(milli "$(rec burner target.$r)")
    up=$(milli "$(rec burner upperBound.$r)")
    if [ "$lo" -ge 0 ] && [ "$lo" -le "$tg" ] && [ "$tg" -le "$up" ]; then
        pass "$r: lowerBound $lo <= target $tg <= upperBound $up (milli)"
    else fail "$r: lowerBound $lo target $tg upperBound $up"; fi
done
expect_eq "$(milli "$(rec burner target.memory)")" "$((250 * 1024 * 1024 * 1000))" \
    "memory target is the 250Mi pod minimum (the burner's peak is far below)"
expect_match "$(rec burner uncappedTarget.cpu)" '^[0-9]+m$' "uncappedTarget in millicores"

out=$(kubectl get vpa)
say "kubectl get vpa:"; printf '%s\n' "$out"
expect_match "$(head -1 <<<"$out")" '^NAME +MODE +CPU +MEM +PROVIDED +AGE$' "the CRD's printer columns"
expect_match "$(awk '$1 == "burner"' <<<"$out")" '^burner +Off +[0-9]+m +262144k +True +[0-9]+s$' "burner row"
expect_eq "$(kubectl get verticalpodautoscalers.autoscaling.k8s.io -o name | sort | tr '\n' ' ')" \
    "verticalpodautoscaler.autoscaling.k8s.io/burner verticalpodautoscaler.autoscaling.k8s.io/capped " \
    "full resource name"

wait_for 60 "VPA capped has a recommendation" -- sh_eval '[ -n "$(rec capped target.cpu)" ]'
expect_eq "$(rec capped target.cpu)" "20m" "maxAllowed caps the target"
expect_eq "$(rec capped upperBound.cpu)" "20m" "maxAllowed caps the upper bound"
if [ "$(milli "$(rec capped uncappedTarget.cpu)")" -gt 20 ]; then
    pass "uncappedTarget $(rec capped uncappedTarget.cpu) stays above the cap"
else fail "uncappedTarget $(rec capped uncappedTarget.cpu)"; fi
expect_eq "$(rec capped target.memory)" "" "controlledResources [cpu]: no memory recommendation"

# Initial: a new pod of the Deployment starts with the recommendation.
kubectl patch vpa burner --type=merge -p '{"spec":{"updatePolicy":{"updateMode":"Initial"}}}' >/dev/null
old=$(kubectl get pods -l app=burner -o jsonpath='{.items[0].metadata.name}')
kubectl delete pod "$old" --wait=false >/dev/null
wait_for 60 "a new burner pod" -- sh_eval \
    'n=$(kubectl get pods -l app=burner -o jsonpath="{.items[*].metadata.name}" | tr " " "\n" | grep -v "^$old\$" | head -1) && [ -n "$n" ]'
new=$(kubectl get pods -l app=burner -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | grep -v "^$old\$" | head -1)
cpu=$(kubectl get pod "$new" -o jsonpath='{.spec.containers[0].resources.requests.cpu}')
mem=$(kubectl get pod "$new" -o jsonpath='{.spec.containers[0].resources.requests.memory}')
lim=$(kubectl get pod "$new" -o jsonpath='{.spec.containers[0].resources.limits.memory}')
say "new pod $new: requests cpu=$cpu memory=$mem, limits memory=$lim"
if [ "$(milli "$cpu")" -gt 10 ]; then pass "new pod's cpu request $cpu > 10m"; else fail "cpu request $cpu"; fi
expect_eq "$mem" "262144k" "new pod's memory request is the target"
# 64Mi * 250Mi / 16Mi = 1000Mi
expect_eq "$(milli "$lim")" "$((1000 * 1024 * 1024 * 1000))" "memory limit scaled as the request (1000Mi)"
expect_eq "$(kubectl get pod "$new" -o jsonpath='{.metadata.annotations.vpaUpdates}')" \
    "Pod resources updated by burner: container 0: cpu request, memory request, memory limit" \
    "vpaUpdates annotation"
expect_eq "$(kubectl get pod "$new" -o jsonpath='{.metadata.annotations.vpaObservedContainers}')" \
    "burn" "vpaObservedContainers annotation"
wait_for 60 "the new pod runs with its new requests" -- sh_eval \
    'test "$(kubectl get pod "$new" -o jsonpath="{.status.phase}")" = Running'

# RequestsOnly: limits stay, and a request never exceeds its limit (the pod stays valid).
kubectl patch vpa burner --type=merge -p '{"spec":{"resourcePolicy":{"containerPolicies":[{"containerName":"burn","controlledValues":"RequestsOnly"}]}}}' >/dev/null
kubectl delete pod "$new" --wait=false >/dev/null
wait_for 60 "a third burner pod" -- sh_eval \
    'kubectl get pods -l app=burner -o jsonpath="{.items[*].metadata.name}" | tr " " "\n" | grep -v -e "^$old\$" -e "^$new\$" | grep -q .'
third=$(kubectl get pods -l app=burner -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | grep -v -e "^$old\$" -e "^$new\$" | head -1)
expect_eq "$(kubectl get pod "$third" -o jsonpath='{.spec.containers[0].resources.requests.memory} {.spec.containers[0].resources.limits.memory}')" \
    "64Mi 64Mi" "RequestsOnly: memory request capped at the 64Mi limit, limit unchanged"
expect_eq "$(kubectl get pod "$third" -o jsonpath='{.metadata.annotations.vpaUpdates}')" \
    "Pod resources updated by burner: container 0: cpu request, memory request" "RequestsOnly vpaUpdates"

kubectl patch vpa burner --type=merge -p '{"spec":{"updatePolicy":{"updateMode":"Auto"}}}' >/dev/null
wait_for 30 "Auto reported as applied as Initial" -- sh_eval \
    'kubectl get vpa burner -o jsonpath="{.status.conditions[?(@.type==\"ConfigUnsupported\")].reason}" | grep -q UpdateModeAppliedAsInitial'

# Bad specs.
bad() { printf 'apiVersion: autoscaling.k8s.io/v1\nkind: VerticalPodAutoscaler\nmetadata: {name: bad}\nspec: %s\n' "$1" |
    kubectl apply -f - 2>&1; }
expect_match "$(bad '{updatePolicy: {updateMode: "Off"}}')" \
    'VerticalPodAutoscaler "bad" is invalid: spec.targetRef: Required value' "no targetRef"
expect_match "$(bad '{targetRef: {kind: Deployment, name: x}, updatePolicy: {updateMode: Sometimes}}')" \
    'spec.updatePolicy.updateMode: Unsupported value: "Sometimes": supported values: "Off", "Initial", "Recreate", "Auto"' \
    "bad updateMode"
expect_match "$(bad '{targetRef: {kind: Deployment, name: x}, resourcePolicy: {containerPolicies: [{containerName: a, mode: Never, minAllowed: {cpu: 2}, maxAllowed: {cpu: 1}}]}}' | tr '\n' ' ')" \
    'containerPolicies\[0\].mode: Unsupported value: "Never".*containerPolicies\[0\].maxAllowed.cpu: Invalid value: 1: max resource for cpu is lower than min' \
    "bad resourcePolicy: two causes"
expect_match "$(api_curl /apis/autoscaling.k8s.io/v1/namespaces/default/verticalpodautoscalers -X POST \
    -H 'Content-Type: application/json' -d '{"metadata":{"name":"bad"},"spec":{}}' | jq -r '"\(.code) \(.reason) \(.details.causes[0].field)"')" \
    '^422 Invalid spec.targetRef$' "422 with causes"
finish
