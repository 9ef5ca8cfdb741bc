#!/bin/bash
# t1420: HorizontalPodAutoscaler (autoscaling/v2) with real kubectl and real CPU load. A Deployment
# of shell pods with a 100m cpu request that spin while a file exists in a hostPath directory of
# the test's; an HPA min 1 max 3 target 50% with a 15 s scale-down window: burning scales it to 3
# (bounded wait, generous for a shared machine), `kubectl get hpa` shows "cpu: N%/50%",
# describe shows the SuccessfulRescale event; no burning scales it back to 1. Also: bad specs are
# 422 with upstream's causes, a missing target is AbleToScale False FailedGetScale, a Pods metric
# is ScalingActive False (no custom metrics API), `kubectl autoscale` (v1 POST in 1.32) makes an
# object readable as v2, and the v1 view carries targetCPUUtilizationPercentage.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"

kroll_start
mkdir -p "$TEST_DIR/switch"
mkimage test/burner 'trap "exit 0" TERM; while :; do if [ -e /data/burn ]; then :; else sleep 1; fi; done'
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: test/burner
        imagePullPolicy: Never
        resources: {requests: {cpu: 100m}}
        volumeMounts: [{name: sw, mountPath: /data}]
      volumes: [{name: sw, hostPath: {path: $TEST_DIR/switch, type: Directory}}]
Y
wait_for 60 "the Deployment's pod is Running" -- sh_eval \
    'test "$(kubectl get pods -l app=web -o jsonpath="{.items[*].status.phase}")" = Running'

# Discovery: v2 preferred, v1 also served; the short name.
expect_eq "$(api_curl /apis/autoscaling | jq -r '"\(.preferredVersion.version) \([.versions[].version] | join(","))"')" \
    "v2 v2,v1" "APIGroup autoscaling: v2 preferred, v1 served"
expect_eq "$(api_curl /apis/autoscaling/v2 | jq -r '[.resources[] | .name + ":" + (.shortNames // [] | join(","))] | join(" ")')" \
    "horizontalpodautoscalers:hpa horizontalpodautoscalers/status:" "autoscaling/v2 resources"

cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 15}
Y
expect_eq "$(kubectl get hpa web -o jsonpath='{.spec.behavior.scaleUp.selectPolicy} {.spec.behavior.scaleUp.policies[*].type} {.spec.behavior.scaleDown.policies[0].value} {.spec.behavior.scaleDown.stabilizationWindowSeconds}')" \
    "Max Pods Percent 100 15" "behavior defaults filled, the set window kept"

# Idle: utilization near 0%, one replica (the minimum) stays.
wait_for 90 "the idle pod's utilization appears in the status" -- sh_eval \
    'kubectl get hpa web -o jsonpath="{.status.currentMetrics[0].resource.current.averageUtilization}" | grep -Eq "^[0-9]+$"'
get=$(kubectl get hpa web)
say "kubectl get hpa (idle):"; printf '%s\n' "$get"
expect_match "$(head -1 <<<"$get")" '^NAME +REFERENCE +TARGETS +MINPODS +MAXPODS +REPLICAS +AGE$' "get hpa columns"
expect_match "$(sed -n 2p <<<"$get")" '^web +Deployment/web +cpu: [0-9]+%/50% +1 +3 +1 +[0-9]+s$' "get hpa row"
expect_eq "$(kubectl get hpa web -o jsonpath='{.status.conditions[?(@.type=="ScalingActive")].reason}')" \
    "ValidMetricFound" "ScalingActive ValidMetricFound"

# Burn: up to 3 (the maximum).
t0=$(date +%s)
touch "$TEST_DIR/switch/burn"
wait_for 150 "burning scales the Deployment to 3" -- sh_eval \
    'test "$(kubectl get deploy web -o jsonpath="{.spec.replicas}")" = 3'
up_s=$(( $(date +%s) - t0 ))
say "scale-up to 3 took ${up_s}s"
ev=$(kubectl get events --field-selector involvedObject.kind=HorizontalPodAutoscaler -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}')
expect_match "$ev" 'SuccessfulRescale: New size: [23]; reason: cpu resource utilization \(percentage of request\) above target' \
    "SuccessfulRescale event with upstream's reason"
wait_for 60 "the HPA's status reports 3 current replicas" -- sh_eval \
    'test "$(kubectl get hpa web -o jsonpath="{.status.currentReplicas}")" = 3'
expect_match "$(kubectl get hpa web --no-headers)" '^web +Deployment/web +cpu: [0-9]+%/50% +1 +3 +3 ' "get hpa under load"
desc=$(kubectl describe hpa web)
say "kubectl describe hpa:"; printf '%s\n' "$desc"
expect_match "$desc" 'resource cpu on pods +\(as a percentage of request\): +[0-9]+% \([0-9]+m?\) / 50%' "describe: the metric line"
expect_match "$desc" 'Deployment pods: +3 current / 3 desired' "describe: pods line"
expect_match "$desc" 'SuccessfulRescale' "describe: events"
expect_match "$desc" 'ScalingLimited +True +TooManyReplicas' "describe: limited by maxReplicas"
expect_eq "$(kubectl get hpa web -o jsonpath='{.status.conditions[*].type}')" \
    "AbleToScale ScalingActive ScalingLimited" "conditions in upstream's first-set order"

# Stop burning: back to 1 after the 15 s window.
t0=$(date +%s)
rm -f "$TEST_DIR/switch/burn"
wait_for 150 "no load scales the Deployment back to 1" -- sh_eval \
    'test "$(kubectl get deploy web -o jsonpath="{.spec.replicas}")" = 1'
down_s=$(( $(date +%s) - t0 ))
say "scale-down to 1 took ${down_s}s"
ev=$(kubectl get events --field-selector involvedObject.kind=HorizontalPodAutoscaler -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}')
expect_match "$ev" 'SuccessfulRescale: New size: 1; reason: All metrics below target' "scale-down event"
expect_match "$(kubectl get hpa web -o jsonpath='{.status.lastScaleTime}')" '^[0-9-]+T[0-9:]+Z$' "lastScaleTime set"

# Bad specs: 422 with field causes.
bad() { # bad NAME SPEC-JSON -> "code causes"
    api_curl /apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers -X POST \
        -H 'Content-Type: application/json' \
        -d "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"$1\"},\"spec\":$2}" |
        jq -r '"\(.code) \([.details.causes[]? | "\(.field): \(.message)"] | join(" | "))"'
}
ref='"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"}'
expect_eq "$(bad b1 "{$ref}")" \
    '422 spec.maxReplicas: Invalid value: 0: must be greater than 0 | spec.maxReplicas: Invalid value: 0: must be greater than or equal to `minReplicas`' \
    "no maxReplicas (minReplicas defaulted to 1: both of upstream's causes)"
expect_eq "$(bad b2 "{$ref,\"minReplicas\":5,\"maxReplicas\":2}")" \
    '422 spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`' "min > max"
expect_eq "$(bad b3 "{\"maxReplicas\":2}")" \
    "422 spec.scaleTargetRef.kind: Required value | spec.scaleTargetRef.name: Required value" "no target"
expect_match "$(bad b4 "{$ref,\"maxReplicas\":2,\"metrics\":[{\"type\":\"Foo\"}]}")" \
    '^422 spec.metrics\[0\].type: Unsupported value: "Foo": supported values: "Object", "Pods", "Resource", "External", "ContainerResource"$' \
    "unknown metric type"
expect_eq "$(bad b5 "{$ref,\"maxReplicas\":2,\"metrics\":[{\"type\":\"Pods\",\"pods\":{\"metric\":{\"name\":\"rps\"},\"target\":{\"type\":\"Value\",\"value\":\"5\"}}}]}")" \
    "422 spec.metrics[0].pods.target.averageValue: Required value: must specify a positive target averageValue" \
    "Pods metric without averageValue"
expect_eq "$(bad b6 "{$ref,\"maxReplicas\":2,\"behavior\":{\"scaleUp\":{\"policies\":[{\"type\":\"Pods\",\"value\":0,\"periodSeconds\":2000}]}}}")" \
    "422 spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero | spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 2000: must be less than or equal to 1800" \
    "bad behavior policy"
expect_match "$(kubectl create -f - 2>&1 <<Y
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: b7}
spec: {$ref, minReplicas: 0, maxReplicas: 2}
Y
)" 'spec.minReplicas: Invalid value: 0: must be greater than or equal to 1' "kubectl create: minReplicas 0 refused"

# A missing target: AbleToScale False FailedGetScale.
cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: ghost}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: nosuch}
  maxReplicas: 2
Y
wait_for 30 "missing target: AbleToScale False FailedGetScale" -- sh_eval \
    'test "$(kubectl get hpa ghost -o jsonpath="{.status.conditions[?(@.type==\"AbleToScale\")].status}/{.status.conditions[?(@.type==\"AbleToScale\")].reason}")" = False/FailedGetScale'
expect_match "$(kubectl get hpa ghost -o jsonpath='{.status.conditions[0].message}')" \
    "the HPA controller was unable to get the target's current scale: deployments.apps \"nosuch\" not found" "FailedGetScale message"
expect_match "$(kubectl get hpa ghost --no-headers)" '^ghost +Deployment/nosuch +cpu: <unknown>/80% +1 +2 +0 ' "defaults: cpu 80%, min 1"

# A Pods metric for pods no Service routes to: the custom metrics API has no figures for them.
cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: rps}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 2
  metrics:
  - type: Pods
    pods: {metric: {name: http_requests_per_second}, target: {type: AverageValue, averageValue: "10"}}
Y
wait_for 30 "Pods metric: ScalingActive False FailedGetPodsMetric" -- sh_eval \
    'test "$(kubectl get hpa rps -o jsonpath="{.status.conditions[?(@.type==\"ScalingActive\")].reason}")" = FailedGetPodsMetric'
expect_match "$(kubectl get hpa rps --no-headers)" '^rps +Deployment/web +<unknown>/10 +1 +2 ' "Pods metric TARGETS"
kubectl delete hpa rps ghost >/dev/null

# kubectl autoscale (1.32 POSTs autoscaling/v1): readable as v2, the v1 view as upstream's.
kubectl delete hpa web >/dev/null
out=$(kubectl autoscale deployment web --min=1 --max=4 --cpu-percent=60 2>&1)
expect_eq "$out" "horizontalpodautoscaler.autoscaling/web autoscaled" "kubectl autoscale"
expect_eq "$(kubectl get horizontalpodautoscalers.v2.autoscaling web -o jsonpath='{.apiVersion} {.spec.scaleTargetRef.kind}/{.spec.scaleTargetRef.name} {.spec.minReplicas}-{.spec.maxReplicas} {.spec.metrics[0].type} {.spec.metrics[0].resource.name} {.spec.metrics[0].resource.target.type} {.spec.metrics[0].resource.target.averageUtilization}')" \
    "autoscaling/v2 Deployment/web 1-4 Resource cpu Utilization 60" "the v1 object read as v2"
expect_eq "$(kubectl get horizontalpodautoscalers.v1.autoscaling web -o jsonpath='{.apiVersion} {.spec.targetCPUUtilizationPercentage} {.spec.metrics}')" \
    "autoscaling/v1 60 " "the v1 view: targetCPUUtilizationPercentage"
wait_for 60 "the v1 view carries the current utilization and conditions annotation" -- sh_eval \
    'v=$(kubectl get horizontalpodautoscalers.v1.autoscaling web -o json) && jq -e ".status.currentCPUUtilizationPercentage != null and (.metadata.annotations[\"autoscaling.alpha.kubernetes.io/conditions\"] | fromjson | map(.type) | index(\"ScalingActive\") != null)" <<<"$v"'
expect_eq "$(api_curl /apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers | jq -r '"\(.kind) \(.apiVersion) \(.items[0].apiVersion) \(.items[0].spec.targetCPUUtilizationPercentage)"')" \
    "HorizontalPodAutoscalerList autoscaling/v1 autoscaling/v1 60" "v1 list"
# A v1 merge patch applies to the v1 view and is stored as v2.
kubectl patch horizontalpodautoscalers.v1.autoscaling web --type=merge -p '{"spec":{"targetCPUUtilizationPercentage":70}}' >/dev/null
expect_eq "$(kubectl get hpa web -o jsonpath='{.spec.metrics[0].resource.target.averageUtilization} {.spec.maxReplicas}')" \
    "70 4" "v1 merge patch stored as v2"
# A v2 metric v1 cannot hold travels in the metrics annotation and back.
kubectl patch hpa web --type=merge -p '{"spec":{"metrics":[{"type":"Resource","resource":{"name":"memory","target":{"type":"AverageValue","averageValue":"64Mi"}}},{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":70}}}]}}' >/dev/null
v1=$(kubectl get horizontalpodautoscalers.v1.autoscaling web -o json)
expect_eq "$(jq -r '.metadata.annotations["autoscaling.alpha.kubernetes.io/metrics"]' <<<"$v1")" \
    '[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"64Mi"}}]' "metrics annotation in the v1 shape"
jq 'del(.metadata.resourceVersion, .status)' <<<"$v1" | kubectl replace -f - >/dev/null
expect_eq "$(kubectl get hpa web -o jsonpath='{.spec.metrics[*].resource.name} {.spec.metrics[0].resource.target.type}')" \
    "memory cpu AverageValue" "a v1 PUT keeps the annotated metric"

# current > max: set to max at the next sync (no metrics needed), with upstream's reason.
kubectl scale deploy web --replicas=6 >/dev/null
wait_for 60 "a target above maxReplicas is brought to 4" -- sh_eval \
    'test "$(kubectl get deploy web -o jsonpath="{.spec.replicas}")" = 4'
ev=$(kubectl get events --field-selector involvedObject.kind=HorizontalPodAutoscaler -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}')
expect_match "$ev" 'SuccessfulRescale: New size: 4; reason: Current number of replicas above Spec.MaxReplicas' \
    "above-max event"
kubectl delete hpa web >/dev/null

# kubectl autoscale from the oldest and newest kubectl beside the dispatcher (1.27: v1 POST;
# 1.33: v2 POST first), and describe from each.
dir=$(dirname "$(readlink -f "$(command -v kubectl)")")
for v in 27 33; do
    k="$dir/kubectl.1.$v"
    [ -x "$k" ] || { say "skip: no $k"; continue; }
    export KUBECACHEDIR=$TEST_DIR/kubecache-$v
    expect_eq "$("$k" autoscale deployment web --name=a$v --max=2 --cpu-percent=70 2>&1)" \
        "horizontalpodautoscaler.autoscaling/a$v autoscaled" "1.$v kubectl autoscale"
    expect_eq "$(kubectl get hpa a$v -o jsonpath='{.spec.maxReplicas} {.spec.metrics[0].resource.target.averageUtilization}')" \
        "2 70" "1.$v autoscale stored as v2"
    expect_match "$("$k" describe hpa a$v 2>&1)" 'Reference: +Deployment/web' "1.$v describe hpa"
    unset KUBECACHEDIR
done

finish
