#!/usr/bin/env bash
# The proxy's windowed statistics (/stats on its admin port): per revision and per pod, the
# request rate, success rate (non-5xx answers among answers and failed connects) and latency
# quantiles over a window; a revision's window outlives its pods. The per-pod figures are also
# served by the API as custom.metrics.k8s.io/v1beta2. Two Deployments behind one
# Service: "good" answers every predict, "bad" fails a fifth of them (the model server's
# ERROR_PERCENT=20), so their success rates must read 1 and 0.8.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
svc_setup

deploy good 1 1.0.3 tier=both
# deploy(), with the model server's ERROR_PERCENT in the template from the start (no rollout).
deploy bad 1 1.0.4 tier=both
kubectl patch deploy bad --type=json -p '[{"op": "add", "path": "/spec/template/spec/containers/0/env/-",
    "value": {"name": "ERROR_PERCENT", "value": "20"}}]' >/dev/null
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: both}
spec:
  selector: {tier: both}
  ports: [{name: http, port: 80, targetPort: 8501}]
Y
only_one() { [ "$(kubectl get pods -l app=bad -o name | wc -l)" = 1 ]; }
wait_for 90 "both deployments ready, the bad one's first pod gone" -- sh_eval 'ready_n good 1 && ready_n bad 1 && only_one'
IP=$(svc_ip both)
wait_for 10 "the Service answers" -- curl -sf -m 2 -o /dev/null "http://$IP/v1/models/classifier"
stats() { curl -s -m 3 "http://$(cat "$KROLL_DATA/run/proxy.admin")/stats${1:-}"; }
rev_of() { kubectl get pods -l "app=$1" -o jsonpath='{.items[0].metadata.labels.pod-template-hash}'; }
GOOD=$(rev_of good); BAD=$(rev_of bad)
npods() { # pods of the Service in the proxy's view
    stats | /usr/bin/python3 -c 'import json, sys
d = json.load(sys.stdin)
print(sum(len(s["pods"]) for s in d["services"] if s["service"].startswith("default/both:")))'
}
wait_for 30 "both pods are endpoints" -- sh_eval 'test "$(npods)" = 2'

# 200 predicts; the proxy spreads them, so each revision gets about half.
for _ in $(seq 1 200); do
    curl -s -m 3 -o /dev/null -w '%{http_code}\n' -X POST -d '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' \
        "http://$IP/v1/models/classifier:predict"
done >"$TEST_DIR/codes"
sleep 2 # the sampler adds what changed once a second
stats '?window=60' >"$TEST_DIR/stats.json"
check() { # PYTHON-EXPR over d (the document), g and b (the two revisions), pods
    /usr/bin/python3 -c "
import json, sys
d = json.load(open('$TEST_DIR/stats.json'))
s = [x for x in d['services'] if x['service'].startswith('default/both:')][0]
r = {x['revision']: x for x in s['revisions']}
g, b, pods = r.get('$GOOD', {}), r.get('$BAD', {}), s['pods']
print('yes' if ($1) else 'no: ' + json.dumps(s)[:600])"
}
n5=$(grep -c '^500$' "$TEST_DIR/codes")
n2=$(grep -c '^200$' "$TEST_DIR/codes")
expect_eq "$((n5 + n2))" 200 "every predict answered 200 or 500"
expect_eq "$(check "d['windowSeconds'] == 60 and d['resolutionSeconds'] == 5")" yes "the window asked for, and its resolution"
expect_eq "$(check "g['requests'] + b['requests'] >= 200")" yes "the revisions' requests add up to what was sent (and the readiness probes do not pass the proxy)"
expect_eq "$(check "b['errors5xx'] == $n5 and g['errors5xx'] == 0")" yes "the 500s ($n5) are all the bad revision's"
expect_eq "$(check "g['successRate'] == 1.0")" yes "the good revision's success rate is 1"
expect_eq "$(check "abs(b['successRate'] - (1 - $n5 / b['requests'])) < 1e-9 and 0.7 < b['successRate'] < 0.9")" yes \
    "the bad revision's success rate is its non-5xx share (about 0.8)"
expect_eq "$(check "g['latencyP50'] is not None and 0 < g['latencyP50'] <= g['latencyP99'] < 10")" yes "latency quantiles, p50 <= p99"
expect_eq "$(check "b['requestsPerSecond'] > 0 and 0 < b['coveredSeconds'] <= 65")" yes "a rate over the seconds the window covers"
expect_eq "$(check "sorted(p['revision'] for p in pods) == sorted(['$GOOD', '$BAD']) and all(p['requests'] > 0 and p['inFlight'] == 0 and p['ready'] for p in pods)")" yes \
    "per pod: requests, in-flight, readiness"

# The same figures per pod through the API, as custom.metrics.k8s.io (what an HPA with a Pods
# metric reads; the server polls the proxy every 5 s, over a 30 s window).
CM=/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods
cm_items() { kubectl get --raw "$CM/*/$1?labelSelector=tier%3Dboth" 2>/dev/null |
    /usr/bin/python3 -c 'import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted(i["describedObject"]["name"].split("-")[0] + ":" + ("pos" if i["value"] not in ("0", "0m") else "0") for i in d["items"])))'; }
wait_for 20 "custom metrics: both pods have a request rate above 0" -- \
    sh_eval 'test "$(cm_items http_requests_per_second)" = "bad:pos good:pos"'
expect_eq "$(cm_items http_request_duration_seconds_p99)" "bad:pos good:pos" "custom metrics: a p99 latency per pod"
expect_eq "$(cm_items http_requests_in_flight)" "bad:0 good:0" "custom metrics: nothing in flight"
GOODPOD=$(kubectl get pods -l app=good -o jsonpath='{.items[0].metadata.name}')
R=$(kubectl get --raw "$CM/$GOODPOD/http_requests_per_second")
expect_match "$R" '"kind":"MetricValueList".*"describedObject":\{"kind":"Pod","namespace":"default","name":"'"$GOODPOD"'","apiVersion":"v1"\}.*"windowSeconds":30' \
    "custom metrics: one pod's MetricValueList"
R=$(kubectl get --raw "$CM/*/no_such_metric" 2>&1)
expect_match "$R" 'could not find the metric no_such_metric for pods' "custom metrics: an unknown metric is 404"
expect_match "$(kubectl api-versions 2>&1 | tr '\n' ' ')" 'custom.metrics.k8s.io/v1beta2' "custom metrics: the group in discovery"
expect_match "$(kubectl get --raw /apis/custom.metrics.k8s.io/v1beta2)" '"name":"pods/http_requests_per_second".*"kind":"MetricValueList"' \
    "custom metrics: its resources listed"

# Bad windows are refused with 400; the whole ring is 10 minutes.
code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$(cat "$KROLL_DATA/run/proxy.admin")/stats?window=abc")
expect_eq "$code" 400 "window=abc is refused"
code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$(cat "$KROLL_DATA/run/proxy.admin")/stats?window=11m")
expect_eq "$code" 400 "a window longer than the ring is refused"
expect_eq "$(stats '?window=5m' | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["windowSeconds"])')" 300 "window=5m is 300 s"

# The bad Deployment goes away: its revision's window stays (an analysis run can still read
# what the canary did), its pod does not.
kubectl delete deploy bad --wait=true >/dev/null
wait_for 60 "the bad pod is gone from the proxy" -- sh_eval 'test "$(npods)" = 1'
stats '?window=10m' >"$TEST_DIR/stats.json"
expect_eq "$(check "b.get('errors5xx') == $n5 and len(pods) == 1 and pods[0]['revision'] == '$GOOD'")" yes \
    "the gone revision's window remains, its pod does not"

# An HPA on a Pods metric that only the proxy knows: requests per second per pod. Under a steady
# load of a few requests per second against a target of 1 per pod, "good" goes to 2 replicas.
kubectl apply -f - >/dev/null <<'Y'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: good}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: good}
  minReplicas: 1
  maxReplicas: 2
  metrics:
  - type: Pods
    pods: {metric: {name: http_requests_per_second}, target: {type: AverageValue, averageValue: "1"}}
Y
( end=$(( $(date +%s) + 90 ))
  while [ "$(date +%s)" -lt "$end" ]; do curl -s -m 2 -o /dev/null "http://$IP/v1/models/classifier"; sleep 0.1; done ) &
LOAD_PID=$!
KROLL_PIDS="$KROLL_PIDS $LOAD_PID"
wait_for 80 "the HPA scales good to 2 on http_requests_per_second" -- sh_eval \
    'test "$(kubectl get deploy good -o jsonpath={.spec.replicas})" = 2'
kill "$LOAD_PID" 2>/dev/null; wait "$LOAD_PID" 2>/dev/null
expect_match "$(kubectl get hpa good --no-headers)" '^good +Deployment/good +[0-9.]+m?/1 +1 +2 ' "kubectl get hpa shows the Pods metric against its target"
expect_match "$(kubectl get events --field-selector involvedObject.name=good,reason=SuccessfulRescale -o jsonpath='{.items[*].message}')" \
    'New size: 2; reason: pods metric http_requests_per_second above target' "SuccessfulRescale names the Pods metric"
expect_eq "$(kubectl get hpa good -o jsonpath='{.status.currentMetrics[0].type} {.status.currentMetrics[0].pods.metric.name}')" \
    "Pods http_requests_per_second" "status.currentMetrics reports the Pods metric"
finish
