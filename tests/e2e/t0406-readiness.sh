#!/usr/bin/env bash
# Checklist 36: a readiness probe answering 503 keeps the pod Running with READY 0/1, emits
# Unhealthy "Readiness probe failed: HTTP probe failed with statuscode: 503", never restarts
# it, and its endpoint is not ready (no Service routing). Uses the model server's bad release
# (never loads its model, /v1/models/classifier answers 503).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
node_skip_checks
IMAGES=$KROLL_BUILD/examples/images
[ -d "$IMAGES/tf-serving-1.0.5" ] || { say "SKIP: no model-server images in $IMAGES"; exit 0; }
kroll_start
"$KROLL_BIN" image import "$IMAGES/tf-serving-1.0.5" myrepo/tf-serving:1.0.5 --data-dir "$KROLL_DATA" >/dev/null
"$KROLL_BIN" image import "$IMAGES/tf-serving-1.0.3" myrepo/tf-serving:1.0.3 --data-dir "$KROLL_DATA" >/dev/null
for v in 1.0.5 1.0.3; do
    n=model-${v//./-}
    cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: $n, labels: {app: model}}
spec:
  containers:
  - name: server
    image: myrepo/tf-serving:$v
    ports: [{containerPort: 8501}]
    readinessProbe:
      httpGet: {path: /v1/models/classifier, port: 8501}
      periodSeconds: 1
Y
done
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: model}
spec:
  selector: {app: model}
  ports: [{port: 8501}]
Y
wait_for 20 "bad release Running" -- phase_is model-1-0-5 Running
wait_for 20 "good release Ready" -- ready_is model-1-0-3 true
unhealthy() { events_of model-1-0-5 | grep -qx 'Unhealthy|Readiness probe failed: HTTP probe failed with statuscode: 503'; }
wait_for 10 "Unhealthy event with the 503" -- unhealthy
sleep 5
expect_match "$(kubectl get pod model-1-0-5 --no-headers)" '^model-1-0-5 +0/1 +Running +0 ' "READY 0/1 Running, 0 restarts"
expect_eq "$(jp model-1-0-5 '{.status.containerStatuses[0].restartCount}')" 0 "never restarted"
expect_eq "$(jp model-1-0-5 '{.status.conditions[?(@.type=="Ready")].status}')" False "Ready False"
expect_eq "$(jp model-1-0-5 '{.status.conditions[?(@.type=="Ready")].message}')" \
    "containers with unready status: [server]" "Ready condition message"
# Pick the 503 event by its message: a probe that ran before the server listened left another
# Unhealthy event (connection refused) first in the list when the machine was loaded.
expect_match "$(kubectl get events --field-selector involvedObject.name=model-1-0-5,reason=Unhealthy \
    -o jsonpath='{range .items[*]}{.count}{"|"}{.message}{"\n"}{end}' |
    sed -n 's/|Readiness probe failed: HTTP probe failed with statuscode: 503$//p')" \
    '^([3-9]|[1-9][0-9]+)$' "Unhealthy repeats (aggregated count)"
expect_eq "$(kubectl get events --field-selector involvedObject.name=model-1-0-5,reason=Killing \
    -o name | wc -l)" 0 "no Killing event"
IPB=$(jp model-1-0-5 '{.status.podIP}')
IPG=$(jp model-1-0-3 '{.status.podIP}')
eps() { kubectl get endpointslices -l kubernetes.io/service-name=model \
    -o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}={.conditions.ready}{"\n"}{end}'; }
both() { eps | grep -qx "$IPB=false" && eps | grep -qx "$IPG=true"; }
wait_for 10 "EndpointSlice: the unready pod is ready=false, the good one ready=true" -- both
finish
