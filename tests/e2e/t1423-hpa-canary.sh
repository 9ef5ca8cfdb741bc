#!/bin/bash
# t1423: an HPA scaling an Argo Rollout in the middle of a canary (issue 14: "scaling during a
# rolling update or a canary keeps maxSurge/maxUnavailable and the canary weight right; test
# it: load rises mid-rollout"). A Rollout of 2 busybox pods (10m cpu request, spinning while a
# file of the test's exists), canary maxSurge 1 maxUnavailable 0, steps setWeight 50 then
# pause {}; an HPA on the Rollout (scaleTargetRef argoproj.io/v1alpha1 Rollout) min 2 max 4 at
# 50%. The update pauses at 1 canary / 1 stable; the load rises: the HPA scales the Rollout to
# 4 and the paused canary becomes 2 canary / 2 stable (weight 50 of 4) without any pod of
# either revision removed and never more than 4+1 pods asked for; the promotion then runs with
# the 4 replicas (never fewer than 4 available: maxUnavailable 0); the load falls and the HPA
# scales the finished Rollout back to 2 after its 20 s window. The RS and pod counts are
# replayed from watch streams (deploy-lib.sh's trace), so no step between two polls is missed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

kroll_start
for v in 1 2; do
    mkimage "test/burn:$v" 'trap "exit 0" TERM; while :; do if [ -e $T/burn ]; then :; else sleep 1; fi; done'
done
ro() { # ro IMAGE-TAG
    kubectl apply -f - >/dev/null <<Y
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: ro}
spec:
  selector: {matchLabels: {app: ro}}
  template:
    metadata: {labels: {app: ro}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: test/burn:$1
        imagePullPolicy: Never
        resources: {requests: {cpu: 10m}}
        volumeMounts: $TMNT
      volumes: $TVOL
  strategy:
    canary:
      maxSurge: 1
      maxUnavailable: 0
      steps: [{setWeight: 50}, {pause: {}}]
Y
}
ro 1
kubectl patch ro ro --type=merge -p '{"spec":{"replicas":2}}' >/dev/null
wait_for 90 "the Rollout is Healthy with 2 pods" -- sh_eval \
    'ro_is ro Healthy/ && test "$(ro_field ro .status.availableReplicas)" = 2'
h1=$(ro_field ro .status.currentPodHash)
expect_eq "$(api_curl /apis/argoproj.io/v1alpha1 | jq -r '.resources[] | select(.name == "rollouts/scale") | "\(.group)/\(.version) \(.kind)"')" \
    "autoscaling/v1 Scale" "rollouts/scale discovery entry names group and version"

kubectl apply -f - >/dev/null <<'Y'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: ro}
spec:
  scaleTargetRef: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: ro}
  minReplicas: 2
  maxReplicas: 4
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 20}
Y
cond() { kubectl get hpa ro -o jsonpath="{.status.conditions[?(@.type==\"$1\")].status}/{.status.conditions[?(@.type==\"$1\")].reason}"; }
wait_for 60 "the HPA reads the Rollout's pods' CPU" -- sh_eval 'test "$(cond ScalingActive)" = True/ValidMetricFound'
expect_match "$(kubectl get hpa ro --no-headers)" '^ro +Rollout/ro +cpu: [0-9]+%/50% +2 +4 +2 ' "get hpa: Reference Rollout/ro, idle"

# The update: setWeight 50 of 2 -> 1 canary, 1 stable; paused.
ro 2
wait_for 60 "the canary pauses at setWeight 50" -- ro_is ro Paused/CanaryPauseStep
h2=$(ro_field ro .status.currentPodHash)
wait_for 30 "1 canary and 1 stable pod available" -- sh_eval \
    'test "$(rs_spec_avail ro-$h2)/$(rs_spec_avail ro-$h1)" = 1/1/1/1'

wait_for 30 "the replaced stable pod is gone" -- sh_eval \
    'test "$(kubectl get pods -l app=ro -o name | wc -l)" = 2'

# The load rises mid-rollout.
trace_start ro
touch "$TSHARE/burn"
wait_for 90 "the HPA scales the paused Rollout to 4" -- sh_eval 'test "$(ro_field ro .spec.replicas)" = 4'
wait_for 60 "weight 50 of 4: 2 canary and 2 stable pods available" -- sh_eval \
    'test "$(rs_spec_avail ro-$h2)/$(rs_spec_avail ro-$h1)" = 2/2/2/2'
trace_stop
say "trace while scaling (sum RS spec, -, live pods, terminating, sum RS available, RSs):"
cut -d' ' -f1-6 "$TEST_DIR/trace.ro" | sed 's/^/  /'
m=$(trace_max ro 1)
[ "$m" -ge 4 ] && [ "$m" -le 5 ] && pass "at most $m pods asked for (4 + maxSurge 1 allowed)" ||
    fail "$m pods asked for (4 + maxSurge 1 allowed)"
expect_eq "$(trace_max ro 4)" 0 "no pod of either revision removed while the HPA scaled the canary"
expect_eq "$(ro_phase ro)/$(ro_field ro .status.currentStepIndex)" "Paused/CanaryPauseStep/1" \
    "the rollout stays paused at its step"
expect_match "$(kubectl get events --field-selector involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale -o jsonpath='{.items[*].message}')" \
    'New size: 4; reason: cpu resource utilization \(percentage of request\) above target' "the HPA's rescale event"
expect_match "$(kubectl describe hpa ro)" 'Rollout pods: +[0-9]+ current / 4 desired' "describe hpa: Rollout pods line"

# The promotion runs with the 4 replicas, maxUnavailable 0.
trace_start ro
expect_eq "$(kr promote ro)" "rollout 'ro' promoted" "promote"
wait_for 120 "the Rollout completes with 4 new pods" -- sh_eval \
    'ro_is ro Healthy/ && test "$(rs_spec_avail ro-$h2)/$(rs_field ro-$h1 .spec.replicas)" = 4/4/0'
trace_stop
say "trace of the promotion:"
cut -d' ' -f1-6 "$TEST_DIR/trace.ro" | sed 's/^/  /'
expect_eq "$(trace_max ro 1)" 5 "promotion: never more than 4 + 1 pods asked for"
expect_eq "$(trace_min ro 5)" 4 "promotion: never fewer than 4 available (maxUnavailable 0)"
expect_eq "$(ro_field ro .spec.replicas)" 4 "still 4 replicas: the load holds"

# The load falls: back to the minimum after the window, all on the new revision.
rm -f "$TSHARE/burn"
wait_for 120 "the HPA scales the Rollout back to 2" -- sh_eval 'test "$(ro_field ro .spec.replicas)" = 2'
wait_for 60 "2 pods, both of the new revision" -- sh_eval \
    'test "$(rs_spec_avail ro-$h2)/$(rs_field ro-$h1 .spec.replicas)" = 2/2/0'
expect_eq "$(ro_phase ro)" "Healthy/" "the Rollout stays Healthy"
finish
