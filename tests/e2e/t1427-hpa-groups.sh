#!/bin/bash
# t1427: how the HPA groups pods (autoscaling-config-exec.md section 10, item 6, the parts t1421,
# t1422 and t1425 leave): a deleting pod's metrics are ignored, and a metric other than cpu
# counts a pod that is not Ready.
#  (a) A Deployment of 2 idle pods (10m cpu request), an HPA min 2 max 4 at 50%. One pod is
#      deleted while it starts to spin and ignores SIGTERM (grace 60 s): while it terminates
#      its CPU (far above the target, still in metrics.k8s.io) does not count, so no rescale
#      (counted, it would take the Deployment to 4).
#  (b) A pod that holds a 20 MB string and is never Ready, an HPA on memory AverageValue 10Mi:
#      memory skips the readiness rules (only cpu applies them), so it scales to 2 with
#      "memory resource above target" (as cpu, the unready pod would give no metric at all).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"

kroll_start
mkimage test/stubborn 'trap "" TERM; while :; do if [ -e $T/burn-$HOSTNAME ]; then :; else sleep 2; fi; done'
mkimage test/hold 'trap "exit 0" TERM; x=$(head -c 20000000 /dev/zero | tr "\\0" a); while :; do sleep 2; done'
kubectl apply -f - >/dev/null <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 60
      containers:
      - name: s
        image: test/stubborn
        imagePullPolicy: Never
        resources: {requests: {cpu: 10m}}
        volumeMounts: $TMNT
      volumes: $TVOL
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: mem}
spec:
  replicas: 1
  selector: {matchLabels: {app: mem}}
  template:
    metadata: {labels: {app: mem}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: hold
        image: test/hold
        imagePullPolicy: Never
        readinessProbe:
          exec: {command: ["/bin/sh", "-c", "exit 1"]}
          periodSeconds: 10
Y
running() { kubectl get pods -l "app=$1" -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Running$'; }
wait_for 60 "2 web pods and 1 mem pod Running" -- sh_eval 'test "$(running web)" = 2 && test "$(running mem)" = 1'
reps() { kubectl get deploy "$1" -o jsonpath='{.spec.replicas}'; }
cpu_m() { # a pod's CPU from metrics.k8s.io in millicores, or -1
    api_curl "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/$1" |
        jq -r '.containers[0].usage.cpu // "x"' | awk '/n$/ { print int($1 / 1e6); next }
            /m$/ { print int($1); next } /^[0-9]/ { print int($1 * 1000); next } { print -1 }'
}
hpa() { # hpa NAME MIN MAX METRIC-YAML
    kubectl apply -f - >/dev/null <<Y
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: $1}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: $1}
  minReplicas: $2
  maxReplicas: $3
  metrics:
  - $4
Y
}
rescales() { kubectl get events --field-selector "involvedObject.name=$1,reason=SuccessfulRescale" -o jsonpath='{range .items[*]}{.message}{"\n"}{end}'; }

# (b) first: its pod has no request to wait for.
hpa mem 1 2 '{type: Resource, resource: {name: memory, target: {type: AverageValue, averageValue: 10Mi}}}'

# (a)
read -r p1 p2 < <(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.name}')
wait_for 60 "both web pods have metrics" -- sh_eval "test \"\$(cpu_m $p1)\" -ge 0 && test \"\$(cpu_m $p2)\" -ge 0"
hpa web 2 4 '{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}'
wait_for 30 "(a) the HPA computed a proposal" -- sh_eval \
    'test "$(kubectl get hpa web -o jsonpath="{.status.conditions[?(@.type==\"ScalingActive\")].reason}")" = ValidMetricFound'
touch "$TSHARE/burn-$p1"
kubectl delete pod "$p1" --wait=false >/dev/null
wait_for 60 "(a) the deleting pod burns (metrics.k8s.io)" -- sh_eval "test \"\$(cpu_m $p1)\" -ge 30"
say "(a) $p1 (deleting) burns $(cpu_m "$p1")m of its 10m request"
sleep 32 # two more syncs
expect_match "$(kubectl get pod "$p1" -o jsonpath='{.metadata.deletionTimestamp} {.status.phase}')" '^[0-9-]+T[0-9:]+Z Running$' \
    "(a) $p1 is still terminating, its CPU $(cpu_m "$p1")m"
expect_eq "$(reps web)/$(rescales web | wc -l)" "2/0" "(a) the deleting pod's CPU is ignored: no rescale"
say "(a) the HPA's utilization: $(kubectl get hpa web -o jsonpath='{.status.currentMetrics[0].resource.current.averageUtilization}')%"
rm -f "$TSHARE/burn-$p1"
kubectl delete pod "$p1" --grace-period=1 --wait=false >/dev/null 2>&1

# (b)
mp=$(kubectl get pods -l app=mem -o jsonpath='{.items[0].metadata.name}')
expect_eq "$(kubectl get pod "$mp" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" "False" "(b) the mem pod is not Ready"
wait_for 90 "(b) memory counts the NotReady pod: scaled to 2" -- sh_eval 'test "$(reps mem)" = 2'
expect_match "$(rescales mem)" '^New size: 2; reason: memory resource above target$' "(b) the rescale's reason"
expect_match "$(kubectl get hpa mem --no-headers)" '^mem +Deployment/mem +memory: [0-9]+(Ki|Mi|k|M)?/10Mi +1 +2 ' "(b) get hpa: memory: <avg>/10Mi"
finish
