#!/usr/bin/env bash
# Scheduling as a cluster does it: node labels (GPU ones included), DefaultTolerationSeconds,
# NoSchedule taints and tolerations with the scheduler's exact messages, nodeSelector and
# required node affinity, NoExecute eviction (tolerationSeconds delays it; a Deployment's new
# pod stays Pending), cordon/uncordon/drain with the unschedulable taint, and 422s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"

img_root "$TEST_DIR/img"
printf '#!/bin/sh\nwhile :; do sleep 0.2; done\n' >"$TEST_DIR/img/run.sh"
chmod +x "$TEST_DIR/img/run.sh"
echo '{"Entrypoint":["./run.sh"],"Env":["PATH=/usr/bin:/bin"]}' >"$TEST_DIR/img/image.json"
"$KROLL_BIN" image import "$TEST_DIR/img" test/taint:1 --data-dir "$KROLL_DATA" >/dev/null
kroll_start --node-resource nvidia.com/gpu=2 --node-name n1

# pod NAME [extra spec YAML, indented by 2]
pod() {
    kubectl apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: test/taint:1}]
${2:-}
Y
}
node_of() { kubectl get pod "$1" -o jsonpath='{.spec.nodeName}' 2>/dev/null; }
bound() { [ "$(node_of "$1")" = n1 ]; }
gone() { ! kubectl get pod "$1" >/dev/null 2>&1; }
why() { kubectl get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
has_why() { [ "$(why "$1")" = "$2" ]; }
tail_unres=". preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.."

# Labels the kubelet and GPU feature discovery set.
labels=$(kubectl get node n1 -o jsonpath='{.metadata.labels}')
expect_match "$labels" '"kubernetes.io/hostname":"n1"' "hostname label"
expect_match "$labels" '"kubernetes.io/os":"linux"' "os label"
expect_match "$labels" "\"kubernetes.io/arch\":\"$(dpkg --print-architecture 2>/dev/null || echo amd64)\"" "arch label"
expect_match "$labels" '"nvidia.com/gpu.present":"true"' "GPU present label"
expect_match "$labels" '"nvidia.com/gpu.count":"2"' "GPU count label"

# DefaultTolerationSeconds.
pod plain
expect_eq "$(kubectl get pod plain -o jsonpath='{range .spec.tolerations[*]}{.key}:{.effect}:{.tolerationSeconds} {end}')" \
    "node.kubernetes.io/not-ready:NoExecute:300 node.kubernetes.io/unreachable:NoExecute:300 " \
    "DefaultTolerationSeconds tolerations"
wait_for 20 "untainted pod bound" -- bound plain

# NoSchedule: untolerated stays Pending with the exact message; a toleration schedules.
kubectl taint nodes n1 dedicated=ml:NoSchedule >/dev/null
expect_match "$(kubectl get node n1 -o jsonpath='{.spec.taints}')" '"key":"dedicated"' "taint set"
pod nosched
wait_for 20 "untolerated pod Pending with the taint message" -- has_why nosched \
    "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: ml}$tail_unres"
pod tol "  tolerations: [{key: dedicated, operator: Equal, value: ml, effect: NoSchedule}]"
pod tolall "  tolerations: [{operator: Exists}]"
wait_for 20 "tolerating pod bound" -- bound tol
wait_for 20 "tolerate-everything pod bound" -- bound tolall
expect_eq "$(node_of nosched)" "" "untolerated pod still unbound"
kubectl taint nodes n1 dedicated=ml:NoSchedule- >/dev/null
wait_for 20 "pod bound once the taint is removed" -- bound nosched
kubectl taint nodes n1 soft=yes:PreferNoSchedule >/dev/null
pod soft
wait_for 20 "PreferNoSchedule does not block the only node" -- bound soft
kubectl taint nodes n1 soft- >/dev/null

# nodeSelector and required node affinity.
pod selgpu '  nodeSelector: {nvidia.com/gpu.present: "true"}'
pod selbad '  nodeSelector: {disktype: ssd}'
aff() { # name operator key values-yaml [matchFields]
    pod "$1" "  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{${5:-matchExpressions}: [{key: $3, operator: $2${4:+, values: $4}}]}]}}}"
}
aff affin In kubernetes.io/hostname '[n1, n2]'
aff affnotin NotIn kubernetes.io/hostname '[n1]'
aff affgt Gt nvidia.com/gpu.count '["1"]'
aff afflt Lt nvidia.com/gpu.count '["2"]'
aff affdne DoesNotExist nvidia.com/gpu.present
aff afffield In metadata.name '[n1]' matchFields
pod affpref "  affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 5, preference: {matchExpressions: [{key: zone, operator: In, values: [a]}]}}]}}"
for p in selgpu affin affgt afffield affpref; do wait_for 20 "$p bound" -- bound "$p"; done
for p in selbad affnotin afflt affdne; do
    wait_for 20 "$p Pending with the affinity message" -- has_why "$p" \
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector$tail_unres"
done
kubectl label node n1 disktype=ssd >/dev/null
wait_for 20 "nodeSelector pod bound once the node has the label" -- bound selbad
kubectl delete pod --all --wait=false >/dev/null

# NoExecute: evicts now, or after tolerationSeconds; a Deployment's new pod stays Pending.
kubectl apply -f - >/dev/null <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: test/taint:1}]
Y
pod victim
pod patient "  tolerations: [{key: evict, operator: Exists, effect: NoExecute, tolerationSeconds: 6}]"
pod forever "  tolerations: [{key: evict, operator: Exists, effect: NoExecute}]"
pod cancelme "  tolerations: [{key: evict, operator: Exists, effect: NoExecute, tolerationSeconds: 600}]"
for p in victim patient forever cancelme; do wait_for 30 "$p bound" -- bound "$p"; done
wait_for 30 "deployment pod bound" -- sh_eval '[ -n "$(kubectl get pod -l app=web -o jsonpath="{.items[*].spec.nodeName}")" ]'
kubectl taint nodes n1 evict=now:NoExecute >/dev/null
t0=$(date +%s)
wait_for 20 "untolerating pod evicted" -- gone victim
expect_match "$(kubectl get events --field-selector involvedObject.name=victim -o jsonpath='{range .items[*]}{.reason}: {.message} ({.source.component}){"\n"}{end}')" \
    "TaintManagerEviction: Marking for deletion Pod default/victim \\(taint-eviction-controller\\)" "eviction event"
expect_eq "$(gone patient && echo gone || echo there)" there "tolerationSeconds pod still there"
wait_for 30 "tolerationSeconds pod evicted" -- gone patient
el=$(($(date +%s) - t0))
[ "$el" -ge 5 ] && pass "tolerationSeconds respected (${el}s >= 5)" || fail "evicted after ${el}s, before tolerationSeconds 6"
expect_eq "$(gone forever && echo gone || echo there)" there "toleration without seconds keeps the pod"
web_pending() {
    local p; p=$(kubectl get pod -l app=web -o jsonpath='{.items[?(@.status.phase=="Pending")].metadata.name}')
    [ -n "$p" ] && has_why "$p" "0/1 nodes are available: 1 node(s) had untolerated taint {evict: now}$tail_unres"
}
wait_for 30 "Deployment's replacement pod Pending with the taint message" -- web_pending
kubectl taint nodes n1 evict- >/dev/null
cancelled() { kubectl get events --field-selector involvedObject.name=cancelme -o jsonpath='{.items[*].message}' | grep -q 'Cancelling deletion of Pod default/cancelme'; }
wait_for 20 "removing the taint cancels a timed eviction (event)" -- cancelled
expect_eq "$(gone cancelme && echo gone || echo there)" there "cancelled pod kept"
web_bound() { [ "$(kubectl get pod -l app=web -o jsonpath='{.items[*].spec.nodeName}')" = n1 ]; }
wait_for 30 "Deployment's pod bound once the taint is gone" -- web_bound

# Cordon, uncordon and drain.
kubectl cordon n1 >/dev/null
cordon_taint() { kubectl get node n1 -o jsonpath='{.spec.taints[*].key}' | grep -q node.kubernetes.io/unschedulable; }
wait_for 20 "cordon adds the unschedulable taint" -- cordon_taint
pod cordoned
wait_for 20 "pod Pending on a cordoned node" -- has_why cordoned \
    "0/1 nodes are available: 1 node(s) were unschedulable$tail_unres"
pod cordontol "  tolerations: [{key: node.kubernetes.io/unschedulable, operator: Exists, effect: NoSchedule}]"
wait_for 20 "pod tolerating the unschedulable taint bound" -- bound cordontol
kubectl uncordon n1 >/dev/null
wait_for 20 "uncordon removes the taint" -- sh_eval '! cordon_taint'
wait_for 20 "pod bound after uncordon" -- bound cordoned
kubectl delete pod cordoned cordontol forever cancelme --wait=false >/dev/null
for p in cordoned cordontol forever cancelme; do wait_for 20 "$p gone" -- gone "$p"; done
out=$(kubectl drain n1 --ignore-daemonsets --timeout=40s 2>&1)
expect_match "$out" 'node/n1 drained' "kubectl drain completes"
wait_for 30 "drained Deployment pod replaced and Pending on the cordoned node" -- sh_eval \
    'p=$(kubectl get pod -l app=web -o jsonpath="{.items[?(@.status.phase==\"Pending\")].metadata.name}"); [ -n "$p" ] && has_why "$p" "0/1 nodes are available: 1 node(s) were unschedulable$tail_unres"'
kubectl uncordon n1 >/dev/null
wait_for 30 "Deployment's pod bound after uncordon" -- web_bound

# 422s.
bad() { # name spec-yaml expected-message-regex
    local out
    out=$(kubectl apply -f - 2>&1 <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  containers: [{name: main, image: test/taint:1}]
$2
Y
)
    expect_match "$out" "$3" "422: $1"
}
bad b1 "  tolerations: [{key: k, operator: Equal, value: v, effect: NoSchedule, tolerationSeconds: 5}]" \
    "spec.tolerations\\[0\\].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when \`tolerationSeconds\` is set"
bad b2 "  tolerations: [{key: k, operator: Exists, value: v}]" \
    "spec.tolerations\\[0\\].operator: Invalid value: \"v\": value must be empty when \`operator\` is 'Exists'"
bad b3 "  tolerations: [{operator: Equal, value: v}]" \
    "spec.tolerations\\[0\\].operator: Invalid value: \"Equal\": operator must be Exists when \`key\` is empty"
bad b4 "  tolerations: [{key: k, operator: Same}]" \
    "spec.tolerations\\[0\\].operator: Unsupported value: \"Same\": supported values: \"Equal\", \"Exists\""
bad b5 "  tolerations: [{key: k, operator: Exists, effect: Never}]" \
    "spec.tolerations\\[0\\].effect: Unsupported value: \"Never\""
bad b6 "  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: []}}}" \
    "nodeSelectorTerms: Required value: must have at least one node selector term"
bad b7 "  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: a, operator: In}]}]}}}" \
    "matchExpressions\\[0\\].values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'"
out=$(kubectl patch node n1 --type=merge -p '{"spec":{"taints":[{"key":"a","effect":"Sometimes"},{"key":"b","value":"x","effect":"NoSchedule"},{"key":"b","value":"y","effect":"NoSchedule"}]}}' 2>&1)
expect_match "$out" 'spec.taints\[0\].effect: Unsupported value: "Sometimes"' "422: taint effect"
expect_match "$out" 'spec.taints\[2\]: Invalid value: "b": taints must be unique by key and effect pair' "422: duplicate taint"
finish
