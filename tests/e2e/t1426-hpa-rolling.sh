#!/bin/bash
# t1426: an HPA scaling a Deployment in the middle of a rolling update (issue 14: "scaling
# during a rolling update ... keeps maxSurge/maxUnavailable right; test it: load rises
# mid-rollout"). 2 busybox pods (10m cpu request, spinning while a file of the test's exists),
# maxSurge 1, maxUnavailable 0, minReadySeconds 20 so that the update lasts long enough; an HPA
# min 2 max 4 at 50%. `kubectl set image` starts the update and the load rises at once: the
# HPA scales to 4 while the update runs (the deployment controller spreads the new replicas
# over the old and new ReplicaSets), the update finishes with 4 new pods, and, replayed from
# watch streams (deploy-lib.sh's trace), the ReplicaSets never ask for more than replicas + 1
# pods and the available pods never fall below the 2 there were before (maxUnavailable 0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

kroll_start
for v in 1 2; do
    mkimage "test/burn:$v" 'trap "exit 0" TERM; while :; do if [ -e $T/burn ]; then :; else sleep 1; fi; done'
done
dep() { # dep IMAGE-TAG
    kubectl apply -f - >/dev/null <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  minReadySeconds: 20
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: test/burn:$1
        imagePullPolicy: Never
        resources: {requests: {cpu: 10m}}
        volumeMounts: $TMNT
      volumes: $TVOL
Y
}
dep 1
kubectl scale deploy web --replicas=2 >/dev/null
wait_for 90 "2 pods available" -- dep_complete web 2
kubectl apply -f - >/dev/null <<'Y'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 4
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
Y
wait_for 60 "the HPA reads the pods' CPU" -- sh_eval \
    'test "$(kubectl get hpa web -o jsonpath="{.status.conditions[?(@.type==\"ScalingActive\")].reason}")" = ValidMetricFound'

trace_start web
t0=$(date +%s)
kubectl set image deploy/web burn=test/burn:2 >/dev/null
touch "$TSHARE/burn"
wait_for 90 "the HPA scales web to 4" -- sh_eval 'test "$(dep_field web .spec.replicas)" = 4'
up_s=$(($(date +%s) - t0))
new=$(rs_names web | tail -n 1)
mid=$(kubectl get rs -l app=web -o jsonpath='{range .items[*]}{.metadata.name}={.spec.replicas} {end}')
say "scaled to 4 ${up_s}s into the update; ReplicaSets then: $mid"
wait_for 180 "the update completes with 4 new pods" -- dep_complete web 4
trace_stop
say "trace (sum RS spec, D available, live pods, terminating, sum RS available, RSs):"
cut -d' ' -f1-6 "$TEST_DIR/trace.web" | sed 's/^/  /'
expect_eq "$(rs_field "$new" .spec.replicas)" 4 "the new ReplicaSet ends with the 4 replicas"
# Before the scale the bound is 2 + 1, after it 4 + 1.
m=$(trace_max web 1)
[ "$m" -ge 4 ] && [ "$m" -le 5 ] && pass "at most $m pods asked for (replicas + maxSurge = 4 + 1 allowed)" ||
    fail "$m pods asked for (4 + maxSurge 1 allowed)"
expect_eq "$(trace_min web 5)" 2 "never fewer than the 2 available pods there were (maxUnavailable 0)"
expect_eq "$(awk '$5 >= 4 { seen = 1 } seen && $5 < 4 { bad++ } END { print bad + 0 }' "$TEST_DIR/trace.web")" 0 \
    "once 4 were available, never fewer than 4 (maxUnavailable 0 at 4 replicas)"
# The first moment 4 or more pods were asked for: both ReplicaSets still had pods (mid-update).
both=$(awk '$1 >= 4 { n = split($6, r, ","); k = 0; for (i = 1; i <= n; i++) { split(r[i], a, ":"); if (a[2] + 0 > 0) k++ } print k; exit }' "$TEST_DIR/trace.web")
expect_eq "${both:-0}" 2 "the HPA's scale came while both ReplicaSets had pods (mid-update)"
expect_match "$(kubectl get events --field-selector involvedObject.name=web,reason=SuccessfulRescale -o jsonpath='{.items[*].message}')" \
    'New size: 4; reason: cpu resource utilization \(percentage of request\) above target' "the HPA's rescale event"
rm -f "$TSHARE/burn"
finish
