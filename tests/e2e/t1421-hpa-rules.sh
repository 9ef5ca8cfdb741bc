#!/bin/bash
# t1421: the HPA's replica rules with real CPU load (issue 14; t1420 covers the basics). Shell
# pods with a 10m cpu request spin while a file of the test's exists and are Ready while
# another does (an exec readiness probe), one switch per pod or for all:
#  (a) unready pods are ignored on a scale-up, as upstream's replica calculator does: a Ready
#      idle pod and a burning pod that is not Ready (within the CPU initialization period) keep
#      the HPA (target 60%) at its 2 replicas with a low utilization, though the burning pod's CPU (from
#      metrics.k8s.io) is far above the target;
#  (b) behavior.scaleUp policy Pods 1 per 15 s: with every pod Ready and burning, each rescale
#      adds one pod (events New size: 3, 4, 5 in that order, ScalingLimited ScaleUpLimit);
#  (c) behavior.scaleDown.stabilizationWindowSeconds 45: once the load stops the count holds at
#      5 (AbleToScale ScaleDownStabilized) until the window has passed, then goes to 2.
# The controller syncs every 15 s and samples CPU every 10 s, so the waits are in those steps.
# The request is small (10m, target 60%: 6m of CPU is above it) so that a burner stays far above
# the target on a saturated machine: with 100m and 50% the burners of a 2-core machine at load
# average 38 got less than 50m each and the HPA rightly scaled 4 back to 3 mid-test. An idle
# pod uses little: a 2 s poll, and an exec probe every 5 s (each exec costs a few ms of the pod's
# CPU: with a 1 s period an idle pod used 5-8m).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"

kroll_start
mkimage test/burner 'trap "exit 0" TERM
while :; do if [ -e $T/burn-all ] || [ -e $T/burn-$HOSTNAME ]; then :; else sleep 2; fi; done'
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxUnavailable: 2}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: test/burner
        imagePullPolicy: Never
        resources: {requests: {cpu: 10m}}
        readinessProbe:
          exec: {command: ["/bin/sh", "-c", "test -e $TSHARE/ready-all || test -e $TSHARE/ready-\$HOSTNAME"]}
          periodSeconds: 5
        volumeMounts: $TMNT
      volumes: $TVOL
Y
wait_for 60 "two pods Running" -- sh_eval \
    'test "$(kubectl get pods -l app=web -o jsonpath="{.items[*].status.phase}")" = "Running Running"'
read -r p1 p2 < <(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.name}')
touch "$TSHARE/ready-$p1" "$TSHARE/burn-$p2"
ready() { kubectl get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'; }
wait_for 30 "$p1 Ready" -- sh_eval "test \"\$(ready $p1)\" = True"
expect_eq "$(ready "$p2")" "False" "$p2 (burning) is not Ready"

# (a) The burning pod's CPU is far above the target, but it is not Ready.
cpu_m() { # the pod's CPU from metrics.k8s.io, in millicores
    api_curl "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/$1" |
        jq -r '.containers[0].usage.cpu // "0"' | awk '/n$/ { print int($1 / 1e6); next }
            /m$/ { print int($1); next } { print int($1 * 1000) }'
}
wait_for 60 "$p2 burns at least 10m (100% of its request)" -- sh_eval "test \"\$(cpu_m $p2)\" -ge 10"
say "metrics.k8s.io: $p1 $(cpu_m "$p1")m (Ready, idle), $p2 $(cpu_m "$p2")m (not Ready, burning)"
cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies: [{type: Pods, value: 1, periodSeconds: 15}]
    scaleDown: {stabilizationWindowSeconds: 45}
Y
util() { kubectl get hpa web -o jsonpath='{.status.currentMetrics[0].resource.current.averageUtilization}'; }
wait_for 60 "the HPA reports a utilization" -- sh_eval 'util | grep -Eq "^[0-9]+$"'
sleep 32 # two more syncs with the unready pod burning
u=$(util)
say "HPA utilization with $p2 not Ready: ${u}% (its CPU: $(cpu_m "$p2")m of 10m)"
[ "${u:-100}" -lt 60 ] && pass "the unready pod's CPU is not counted (${u}% < 60%)" ||
    fail "utilization ${u}% counts the unready pod"
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.replicas}')" "2" "no scale-up for an unready pod's load"
expect_eq "$(kubectl get events --field-selector involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale -o name | wc -l)" "0" \
    "no rescale event"

# (b) Every pod Ready and burning: +1 pod per 15 s.
t0=$(date +%s)
touch "$TSHARE/ready-all" "$TSHARE/burn-all"
limited=""
end=$((t0 + 150))
while [ "$(date +%s)" -lt "$end" ]; do
    r=$(kubectl get hpa web -o jsonpath='{.status.conditions[?(@.type=="ScalingLimited")].reason}')
    [ "$r" = ScaleUpLimit ] && limited=1
    [ "$(kubectl get deploy web -o jsonpath='{.spec.replicas}')" = 5 ] && break
    sleep 0.5
done
up_s=$(($(date +%s) - t0))
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.replicas}')" "5" "the load scales web to 5 (in ${up_s}s)"
sizes=$(kubectl get events --field-selector involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale \
    --sort-by=.firstTimestamp -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' | sed -n 's/^New size: \([0-9]*\);.*/\1/p' | xargs)
say "rescale events' sizes: $sizes (${up_s}s from 2 to 5)"
expect_eq "$sizes" "3 4 5" "Pods 1 per 15s: each rescale adds one pod"
expect_match "$(kubectl get events --field-selector reason=SuccessfulRescale -o jsonpath='{.items[0].message}')" \
    'reason: cpu resource utilization \(percentage of request\) above target' "the rescale's reason"
[ -n "$limited" ] && pass "ScalingLimited ScaleUpLimit while the policy held it back" ||
    fail "ScalingLimited never was ScaleUpLimit"
[ "$up_s" -ge 25 ] && pass "three steps took ${up_s}s (at least two sync periods)" || fail "2 -> 5 in ${up_s}s"

# (c) No load: the count holds for the 45 s window, then goes to the minimum.
rm -f "$TSHARE/burn-all" "$TSHARE/burn-$p2"
wait_for 90 "the HPA sees the load gone" -- sh_eval 'test "$(util)" -lt 60'
tl=$(date +%s)
stab=""
while [ $(($(date +%s) - tl)) -lt 20 ]; do
    [ "$(kubectl get hpa web -o jsonpath='{.status.conditions[?(@.type=="AbleToScale")].reason}')" = ScaleDownStabilized ] && stab=1
    sleep 1
done
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.replicas}')" "5" "still 5 replicas 20s after the load went (window 45s)"
[ -n "$stab" ] && pass "AbleToScale ScaleDownStabilized meanwhile" || fail "AbleToScale never ScaleDownStabilized"
wait_for 90 "then scaled down to the minimum, 2" -- sh_eval \
    'test "$(kubectl get deploy web -o jsonpath="{.spec.replicas}")" = 2'
down_s=$(($(date +%s) - tl))
say "scale-down came ${down_s}s after the HPA first saw no load (window 45s, 15s syncs)"
[ "$down_s" -ge 25 ] && pass "the window held the count ${down_s}s" || fail "scaled down after ${down_s}s"
expect_match "$(kubectl get events --field-selector reason=SuccessfulRescale -o jsonpath='{range .items[*]}{.message}{"\n"}{end}')" \
    'New size: 2; reason: All metrics below target' "scale-down event"
finish
