#!/bin/bash
# t1424: the HPA's scale-up rate limits with real CPU load (autoscaling-config-exec.md section
# 10, item 4). A Deployment of 1 busybox pod (10m cpu request) that spins while a file of the
# test's exists; every proposal under load is far above the limits, so the limits decide:
#  (a) behavior present with upstream's default scaleUp (Pods 4 and Percent 100 per 15 s,
#      selectPolicy Max): 1 -> 5 (max(1+4, 1x2)) with ScalingLimited True ScaleUpLimit, then
#      5 -> 6 (maxReplicas: TooManyReplicas);
#  (b) no behavior (`kubectl autoscale`, the legacy path): at most max(2x current, 4) per sync,
#      1 -> 4 with ScaleUpLimit, then 4 -> 6 (max 6 < 8: TooManyReplicas).
# Each status the HPA writes (current, desired, ScalingLimited reason) is polled into a file;
# a status stays 15 s (one sync), so every one is seen.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"

kroll_start
mkimage test/burner 'trap "exit 0" TERM; while :; do if [ -e $T/burn ]; then :; else sleep 1; fi; done'
kubectl apply -f - >/dev/null <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: b}
spec:
  selector: {matchLabels: {app: b}}
  template:
    metadata: {labels: {app: b}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: test/burner
        imagePullPolicy: Never
        resources: {requests: {cpu: 10m}}
        volumeMounts: $TMNT
      volumes: $TVOL
Y
reps() { kubectl get deploy b -o jsonpath='{.spec.replicas}'; }
pod=""
wait_for 60 "the pod is Running" -- sh_eval \
    'pod=$(kubectl get pods -l app=b -o jsonpath="{.items[?(@.status.phase==\"Running\")].metadata.name}") && test -n "$pod"'
cpu_m() { # the Deployment's pods' CPU from metrics.k8s.io, in millicores, the least of them
    api_curl "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Db" |
        jq -r '.items[].containers[0].usage.cpu' | awk '/n$/ { v = int($1 / 1e6) } /m$/ { v = int($1) }
            /^[0-9.]+$/ { v = int($1 * 1000) } { if (m == "" || v < m) m = v } END { print m == "" ? -1 : m }'
}
# burn: the pods spin, and the HPA is created only once their CPU shows it (a full metrics
# window), so that its first sync sees the whole load, not a window that began idle.
burn() {
    touch "$TSHARE/burn"
    wait_for 60 "the pod's CPU shows the load (>= 30m: 300% of its request)" -- sh_eval 'test "$(cpu_m)" -ge 30'
    say "the pod burns $(cpu_m)m"
}

# poll_status HPA SECONDS UNTIL-REPLICAS FILE: the HPA's distinct statuses as
# "current desired ScalingLimited-reason" lines, until the Deployment reaches UNTIL-REPLICAS.
poll_status() { # poll_status HPA SECONDS UNTIL-REPLICAS FILE
    local end=$(($(date +%s) + $2)) s
    : >"$4"
    while [ "$(date +%s)" -lt "$end" ]; do
        s=$(kubectl get hpa "$1" -o jsonpath='{.status.currentReplicas} {.status.desiredReplicas} {.status.conditions[?(@.type=="ScalingLimited")].reason}')
        [ "$s" != "$(tail -n 1 "$4")" ] && printf '%s\n' "$s" >>"$4"
        [ "$(reps)" = "$3" ] && [ "${s%% *}" = "$3" ] && return 0
        sleep 0.5
    done
}
sizes() { # sizes HPA: its SuccessfulRescale sizes, oldest first
    kubectl get events --field-selector "involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=$1,reason=SuccessfulRescale" \
        --sort-by=.firstTimestamp -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' |
        sed -n 's/^New size: \([0-9]*\);.*/\1/p' | xargs
}

# (a) behavior with the default scaleUp rules.
burn
kubectl apply -f - >/dev/null <<'Y'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: b}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: b}
  minReplicas: 1
  maxReplicas: 6
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 0}
Y
expect_eq "$(kubectl get hpa b -o jsonpath='{.spec.behavior.scaleUp.stabilizationWindowSeconds} {.spec.behavior.scaleUp.selectPolicy} {range .spec.behavior.scaleUp.policies[*]}{.type}:{.value}/{.periodSeconds} {end}')" \
    "0 Max Pods:4/15 Percent:100/15 " "(a) upstream's default scaleUp rules filled in"
t0=$(date +%s)
poll_status b 120 6 "$TEST_DIR/a.status"
say "(a) statuses (current desired ScalingLimited) in $(($(date +%s) - t0))s:"; sed 's/^/  /' "$TEST_DIR/a.status"
expect_eq "$(sizes b)" "5 6" "(a) rescales 1 -> 5 -> 6"
expect_eq "$(grep -c '^1 5 ScaleUpLimit$' "$TEST_DIR/a.status")" 1 "(a) 1 -> 5 with ScalingLimited ScaleUpLimit (max(+4, x2) per 15 s)"
expect_eq "$(grep -c '^5 6 TooManyReplicas$' "$TEST_DIR/a.status")" 1 "(a) 5 -> 6 with ScalingLimited TooManyReplicas"
expect_match "$(kubectl get events --field-selector involvedObject.name=b,reason=SuccessfulRescale --sort-by=.firstTimestamp -o jsonpath='{.items[0].message}')" \
    '^New size: 5; reason: cpu resource utilization \(percentage of request\) above target$' "(a) the first rescale's event"

rm -f "$TSHARE/burn"
wait_for 120 "(a) no load: back to 1 (no window, Percent 100)" -- sh_eval 'test "$(reps)" = 1'
kubectl delete hpa b >/dev/null
wait_for 60 "the extra pods are gone" -- sh_eval \
    'test "$(kubectl get pods -l app=b -o jsonpath="{.items[*].metadata.name}" | wc -w)" = 1'

# (b) no behavior: the legacy limit.
burn
expect_eq "$(kubectl autoscale deployment b --name=legacy --min=1 --max=6 --cpu-percent=50 2>&1)" \
    "horizontalpodautoscaler.autoscaling/legacy autoscaled" "(b) kubectl autoscale (no behavior)"
expect_eq "$(kubectl get hpa legacy -o jsonpath='{.spec.behavior}')" "" "(b) no behavior: the legacy path"
t0=$(date +%s)
poll_status legacy 120 6 "$TEST_DIR/b.status"
say "(b) statuses (current desired ScalingLimited) in $(($(date +%s) - t0))s:"; sed 's/^/  /' "$TEST_DIR/b.status"
expect_eq "$(sizes legacy)" "4 6" "(b) rescales 1 -> 4 -> 6"
expect_eq "$(grep -c '^1 4 ScaleUpLimit$' "$TEST_DIR/b.status")" 1 "(b) 1 -> 4 with ScaleUpLimit (max(2x1, 4))"
expect_eq "$(grep -c '^4 6 TooManyReplicas$' "$TEST_DIR/b.status")" 1 "(b) 4 -> 6 with TooManyReplicas (max(2x4, 4) = 8 > 6)"
rm -f "$TSHARE/burn"
finish
