#!/bin/bash
# t1400: metrics.k8s.io and `kubectl top`. A pod that burns CPU (a shell loop, beside an idle
# sidecar) and an idle pod: within 60 s `kubectl top pod` shows both, the busy one above 200m and
# the idle one below 50m (loose: the machine is shared); --containers, --sort-by=cpu, -l, -A;
# `kubectl top node` with CPU% and MEMORY% of allocatable; the raw PodMetrics and NodeMetrics
# in metrics-server's shape; metrics-server's 404 texts; the group in discovery (legacy and
# aggregated); and the same with the oldest kubectl beside the dispatcher (1.27). Then
# --metric-resolution: bad values refused (exit 2), and 0 (no sampler) after a restart on the
# same pods: kubectl top says metrics are not available.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"

kroll_start
# The burner holds a 20 MB string, which its working set must show.
mkimage test/burn 'x=$(head -c 20000000 /dev/zero | tr "\\0" a); while :; do :; done'
mkimage test/idle 'trap "exit 0" TERM; while :; do sleep 1; done'
cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: busy, labels: {app: busy}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: burn, image: test/burn, imagePullPolicy: Never}
  - {name: side, image: test/idle, imagePullPolicy: Never}
---
apiVersion: v1
kind: Pod
metadata: {name: quiet, labels: {app: quiet}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: idle, image: test/idle, imagePullPolicy: Never}
Y
wait_for 60 "both pods Running" -- sh_eval \
    'test "$(kubectl get pods -o jsonpath="{.items[*].status.phase}")" = "Running Running"'

# Discovery: what `kubectl top` looks for before anything else.
expect_match "$(api_curl /apis | jq -r '[.groups[].name] | join(",")')" 'metrics.k8s.io' \
    "/apis lists metrics.k8s.io"
agg=$(api_curl /apis -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList')
expect_eq "$(jq -r '.items[] | select(.metadata.name=="metrics.k8s.io") | .versions[0] | "\(.version) \([.resources[] | "\(.resource):\(.responseKind.kind):\(.scope)"] | join(","))"' <<<"$agg")" \
    "v1beta1 nodes:NodeMetrics:Cluster,pods:PodMetrics:Namespaced" "aggregated discovery entry"
expect_eq "$(api_curl /apis/metrics.k8s.io/v1beta1 | jq -r '[.resources[] | "\(.name)/\(.verbs | join("+"))"] | join(",")')" \
    "nodes/get+list,pods/get+list" "legacy APIResourceList"

# Two samples 10 s apart are needed before a pod appears.
wait_for 60 "kubectl top pod shows both pods" -- sh_eval \
    'kubectl top pod --no-headers >"$TEST_DIR/top" 2>&1 && grep -q "^busy " "$TEST_DIR/top" && grep -q "^quiet " "$TEST_DIR/top"'
top=$(kubectl top pod)
say "kubectl top pod:"; printf '%s\n' "$top"
expect_match "$(head -1 <<<"$top")" '^NAME +CPU\(cores\) +MEMORY\(bytes\)' "top pod header"
busy_m=$(awk '$1 == "busy" { sub("m", "", $2); print $2 }' <<<"$top")
quiet_m=$(awk '$1 == "quiet" { sub("m", "", $2); print $2 }' <<<"$top")
# A spinning pod gets a whole CPU on a quiet machine (about 1000m) but only its share on a loaded
# one (170m at load 18 on 2 CPUs): assert it is clearly busy and far above the idle one.
if [ "${busy_m:-0}" -gt 50 ] && [ "${busy_m:-0}" -gt $((5 * ${quiet_m:-999})) ]; then
    pass "busy pod uses ${busy_m}m > 50m and > 5x the idle pod's ${quiet_m}m"
else fail "busy pod ${busy_m}m (idle pod ${quiet_m}m)"; fi
if [ "${quiet_m:-999}" -lt 50 ]; then pass "idle pod uses ${quiet_m}m < 50m"; else fail "idle pod ${quiet_m}m"; fi
busy_mi=$(awk '$1 == "busy" { sub("Mi", "", $3); print $3 }' <<<"$top")
if [ "${busy_mi:-0}" -ge 16 ]; then pass "busy pod working set ${busy_mi}Mi >= 16Mi (a 20 MB string)"
else fail "busy pod working set ${busy_mi}Mi"; fi

ctrs=$(kubectl top pod --containers --no-headers)
say "kubectl top pod --containers:"; printf '%s\n' "$ctrs"
expect_eq "$(awk '{ print $1 "/" $2 }' <<<"$ctrs" | sort | tr '\n' ' ')" "busy/burn busy/side quiet/idle " \
    "--containers: one row per container"
burn=$(awk '$2 == "burn" { sub("m", "", $3); print $3 }' <<<"$ctrs")
side=$(awk '$2 == "side" { sub("m", "", $3); print $3 }' <<<"$ctrs")
if [ "${burn:-0}" -gt "${side:-0}" ]; then pass "burn ${burn}m > side ${side}m"; else fail "burn ${burn}m side ${side}m"; fi
expect_eq "$(kubectl top pod --sort-by=cpu --no-headers | awk '{ print $1 }' | tr '\n' ' ')" "busy quiet " \
    "--sort-by=cpu puts the busy pod first"
expect_eq "$(kubectl top pod -l app=quiet --no-headers | awk '{ print $1 }')" "quiet" "-l selects by label"
expect_match "$(kubectl top pod -A | head -1)" '^NAMESPACE +NAME +CPU' "-A adds NAMESPACE"
expect_eq "$(kubectl top pod busy --no-headers | awk '{ print $1 }')" "busy" "top pod NAME"
kubectl create namespace empty >/dev/null
expect_match "$(kubectl top pod -n empty 2>&1)" '^No resources found in empty namespace' \
    "a namespace without pods: kubectl's own message"
expect_match "$(kubectl top pod --sort-by=name 2>&1)" 'accepts only cpu or memory' "bad --sort-by refused by kubectl"

node=$(kubectl get nodes -o jsonpath='{.items[0].metadata.name}')
tn=$(kubectl top node)
say "kubectl top node:"; printf '%s\n' "$tn"
expect_match "$(head -1 <<<"$tn")" '^NAME +CPU\(cores\) +CPU(%|\(%\)) +MEMORY\(bytes\) +MEMORY(%|\(%\))' "top node header"
expect_match "$(awk -v n="$node" '$1 == n' <<<"$tn")" "^$node +[0-9]+m +[0-9]+% +[0-9]+Mi +[0-9]+%" \
    "top node row with percentages of allocatable"

# The raw objects, as metrics-server writes them.
pm=$(kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy)
say "PodMetrics: $pm"
expect_eq "$(jq -r '"\(.kind) \(.apiVersion) \(.metadata.namespace)/\(.metadata.name) \(.metadata.labels.app)"' <<<"$pm")" \
    "PodMetrics metrics.k8s.io/v1beta1 default/busy busy" "PodMetrics identity"
expect_match "$(jq -r '"\(.timestamp) \(.window) \(.metadata.creationTimestamp)"' <<<"$pm")" \
    '^[0-9-]+T[0-9:]+Z [0-9]+(\.[0-9]+)?s [0-9-]+T[0-9:]+Z$' "timestamp, window (Go duration), creationTimestamp"
expect_match "$(jq -r '[.containers[] | "\(.name)=\(.usage.cpu)/\(.usage.memory)"] | join(" ")' <<<"$pm")" \
    '^burn=[0-9]+[num]?/[0-9]+(Ki|Mi|Gi)? side=(0|[0-9]+[num]?)/[0-9]+(Ki|Mi|Gi)?$' "containers[].usage quantities"
# Under an OCI runtime the figure is the container's memory cgroup: usage minus inactive file.
if [ "${KROLL_RUNTIME:-runc}" = runc ]; then
    . "$(dirname "$0")/runc-lib.sh"
    cg=$(ctr_cgroup busy burn memory)
    ws=$(( $(cat "$cg/memory.usage_in_bytes") - $(awk '$1 == "total_inactive_file" { print $2 }' "$cg/memory.stat") ))
    got=$(jq -r '.containers[] | select(.name == "burn") | .usage.memory' <<<"$pm" | sed 's/Ki$//')
    if [ $((got * 1024)) -gt $((ws * 8 / 10)) ] && [ $((got * 1024)) -lt $((ws * 12 / 10)) ]; then
        pass "burn's memory ${got}Ki is its cgroup's working set ($ws bytes now)"
    else fail "burn's memory ${got}Ki, its cgroup's working set $ws bytes"; fi
fi
expect_eq "$(kubectl get --raw /apis/metrics.k8s.io/v1beta1/pods | jq -r '"\(.kind) \(.items | length)"')" \
    "PodMetricsList 2" "all-namespaces list"
expect_eq "$(kubectl get --raw '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dbusy' | jq -r '[.items[].metadata.name] | join(",")')" \
    "busy" "labelSelector on the list"
expect_eq "$(kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods | jq -r '.items | length')" \
    "0" "another namespace lists none"
nm=$(kubectl get --raw "/apis/metrics.k8s.io/v1beta1/nodes/$node")
expect_match "$(jq -r '"\(.kind) \(.metadata.name) \(.window) \(.usage.cpu) \(.usage.memory)"' <<<"$nm")" \
    "^NodeMetrics $node [0-9.]+s [0-9]+[num]? [0-9]+(Ki|Mi)?$" "NodeMetrics shape"
expect_eq "$(kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes | jq -r '.kind + " " + .items[0].metadata.name')" \
    "NodeMetricsList $node" "NodeMetricsList"

# metrics-server's NotFound texts.
out=$(kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nosuch 2>&1)
expect_match "$out" 'podmetrics.metrics.k8s.io "default/nosuch" not found' "missing pod: 404 text"
expect_eq "$(api_curl /apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nosuch | jq -r '"\(.code) \(.reason) \(.details.kind) \(.details.group)"')" \
    "404 NotFound podmetrics metrics.k8s.io" "missing pod: Status details"
out=$(kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes/nosuch 2>&1)
expect_match "$out" 'nodemetrics.metrics.k8s.io "nosuch" not found' "missing node: 404 text"
expect_eq "$(api_curl /apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy -X DELETE -o /dev/null -w '%{http_code}')" \
    "405" "metrics are read-only"
expect_eq "$(api_curl /apis/metrics.k8s.io/v1beta1/namespaces/default/things -o /dev/null -w '%{http_code}')" \
    "404" "unknown metrics resource"

# The oldest kubectl (cold discovery cache, v2beta1 aggregated discovery).
old="$(dirname "$(readlink -f "$(command -v kubectl)")")/kubectl.1.27"
if [ -x "$old" ]; then
    export KUBECACHEDIR=$TEST_DIR/kubecache-27
    expect_match "$("$old" top pod --no-headers | awk '{ print $1 }' | tr '\n' ' ')" "^busy quiet $" "kubectl 1.27 top pod"
    expect_match "$("$old" top node | head -1)" '^NAME +CPU\(cores\) +CPU% +MEMORY\(bytes\) +MEMORY%' \
        "kubectl 1.27 top node header"
else
    say "skip: no $old"
fi
# --metric-resolution: bounds (0 or 1s..1h), checked before anything is opened or created.
for v in 500ms 2h 10 abc -1s; do
    expect_rc 2 "--metric-resolution $v refused" -- "$KROLL_BIN" server \
        --data-dir "$TEST_DIR/never" --metric-resolution "$v"
    expect_match "$(cat "$TEST_DIR/out")" "bad --metric-resolution $v \\(want" "--metric-resolution $v: the reason"
done
[ ! -e "$TEST_DIR/never" ] && pass "a refused flag creates no data dir" || fail "data dir made"
# 0: no sampler. The same pods (adopted after the restart) show no metrics, even after longer
# than the default period, after which a sampling server would have had two readings.
kroll_stop
kroll_start --metric-resolution 0
wait_for 60 "both pods Running after the restart" -- sh_eval \
    'test "$(kubectl get pods -o jsonpath="{.items[*].status.phase}")" = "Running Running"'
sleep 15
expect_match "$(kubectl top pod 2>&1)" 'metrics not available yet' "--metric-resolution 0: top pod"
expect_match "$(kubectl top node 2>&1)" 'metrics not available yet' "--metric-resolution 0: top node"
expect_eq "$(kubectl get --raw /apis/metrics.k8s.io/v1beta1/pods | jq -r '"\(.kind) \(.items | length)"')" \
    "PodMetricsList 0" "--metric-resolution 0: an empty PodMetricsList"
finish
