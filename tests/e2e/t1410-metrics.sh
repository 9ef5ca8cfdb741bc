#!/bin/bash
# t1410: the server's /metrics, scraped by Debian's Prometheus (which refuses any malformed
# line), behind the API's token: kube-state-metrics series of a Deployment, its ReplicaSets and
# pods, apiserver request counters and latencies, and kroll's rollout outcomes: completed
# rollouts (with their durations), one undone before it finished, one past its progress
# deadline.
. "$(dirname "$0")/lib.sh"
IMAGES=$KROLL_BUILD/examples/images
[ -d "$IMAGES/tf-serving-1.0.4" ] || { say "SKIP: no model-server images in $IMAGES"; exit 0; }
unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }

kroll_start
for v in 1.0.3 1.0.4; do
    "$KROLL_BIN" image import "$IMAGES/tf-serving-$v" "myrepo/tf-serving:$v" --data-dir "$KROLL_DATA" >/dev/null
done
M=$TEST_DIR/metrics
scrape() { api_curl /metrics >"$M"; }
metric() { # metric 'name{labels...}' -> its value, or "absent"
    awk -v k="$1" 'index($0, k " ") == 1 { print $NF; f = 1 } END { if (!f) print "absent" }' "$M"
}
expect_match "$(curl -sS --cacert "$KROLL_DATA/pki/ca.crt" "https://127.0.0.1:$KROLL_PORT/metrics" -w ' %{http_code}')" \
    '"reason":"Unauthorized".* 401$' "/metrics without the token: 401"

cat >"$TEST_DIR/ms.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: ms}
spec:
  replicas: 2
  progressDeadlineSeconds: 600
  selector: {matchLabels: {app: ms}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: ms}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: ms
        image: myrepo/tf-serving:1.0.3
        imagePullPolicy: Never
        readinessProbe: {httpGet: {path: /v1/models/classifier, port: 8501}, periodSeconds: 1}
YAML
kubectl apply -f "$TEST_DIR/ms.yaml" >/dev/null 2>&1
expect_rc 0 "first rollout" -- kubectl rollout status deploy/ms --timeout=120s
kubectl set image deploy/ms ms=myrepo/tf-serving:1.0.4 >/dev/null 2>&1
expect_rc 0 "second rollout" -- kubectl rollout status deploy/ms --timeout=120s
# A bad image, undone before its rollout ends: that rollout is "undone", the undo completes.
kubectl set image deploy/ms ms=myrepo/tf-serving:9.9.9 >/dev/null 2>&1
sleep 1
kubectl rollout undo deploy/ms >/dev/null
expect_rc 0 "the undo's rollout" -- kubectl rollout status deploy/ms --timeout=120s
# A bad image left alone past a 3 s progress deadline.
kubectl patch deploy ms -p '{"spec":{"progressDeadlineSeconds":3,"template":{"spec":{"containers":[{"name":"ms","image":"myrepo/tf-serving:9.9.8"}]}}}}' >/dev/null 2>&1
expect_rc 1 "the bad rollout passes its deadline" -- kubectl rollout status deploy/ms --timeout=60s

scrape
D='namespace="default",deployment="ms"'
expect_eq "$(metric "kroll_deployment_rollouts_total{$D,outcome=\"completed\"}")" "3" "3 completed rollouts"
expect_eq "$(metric "kroll_deployment_rollouts_total{$D,outcome=\"undone\"}")" "1" "1 undone"
expect_eq "$(metric "kroll_deployment_rollouts_total{$D,outcome=\"progress_deadline_exceeded\"}")" "1" "1 past its deadline"
expect_eq "$(metric "kroll_deployment_rollout_duration_seconds_count{$D}")" "3" "3 durations observed"
expect_match "$(metric "kroll_deployment_rollout_duration_seconds_sum{$D}")" '^[0-9]+\.[0-9]+$' "with their sum"
expect_eq "$(metric "kube_deployment_spec_replicas{$D}")" "2" "kube_deployment_spec_replicas"
expect_eq "$(metric "kube_deployment_status_replicas_available{$D}")" "2" "the old pods stay available"
expect_eq "$(metric "kube_deployment_status_condition{$D,condition=\"Progressing\",status=\"false\"}")" "1" \
    "Progressing=False after the deadline"
expect_eq "$(grep -c "^kube_replicaset_owner{namespace=\"default\",replicaset=\"ms-[a-z0-9]*\",owner_kind=\"Deployment\",owner_name=\"ms\",owner_is_controller=\"true\"} 1$" "$M")" \
    "4" "4 ReplicaSets owned by the Deployment"
expect_match "$(metric 'apiserver_request_total{verb="PATCH",group="apps",resource="deployments",subresource="",code="200"}')" \
    '^[2-9]|^[1-9][0-9]' "PATCH requests counted"
expect_match "$(grep '^apiserver_request_duration_seconds_count{verb="POST",group="apps",resource="deployments"' "$M")" ' 1$' \
    "the create's latency observed"
expect_eq "$(metric 'apiserver_storage_objects{resource="deployments.apps"}')" "1" "apiserver_storage_objects"

# Debian's Prometheus scrapes it with the token and the CA, and parses every line.
if command -v prometheus >/dev/null; then
    PP=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$TEST_DIR/prom.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
- job_name: kroll
  scheme: https
  tls_config: {ca_file: $KROLL_DATA/pki/ca.crt}
  authorization: {credentials_file: $KROLL_DATA/pki/token}
  static_configs: [{targets: ["127.0.0.1:$KROLL_PORT"]}]
YAML
    prometheus --config.file="$TEST_DIR/prom.yml" --storage.tsdb.path="$TEST_DIR/prom" \
        --web.listen-address="127.0.0.1:$PP" >"$TEST_DIR/prom.log" 2>&1 &
    PROM=$!
    KROLL_PIDS="$KROLL_PIDS $PROM"
    q() { curl -s "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$1" |
        jq -r '.data.result[0].value[1] // "none"'; }
    wait_for 60 "Prometheus scraped kroll" -- sh_eval '[ "$(q up)" = 1 ]'
    expect_eq "$(curl -s "http://127.0.0.1:$PP/api/v1/targets" | jq -r '.data.activeTargets[0].lastError')" "" \
        "no scrape error (every line parsed)"
    expect_eq "$(q 'kube_deployment_status_replicas_available{deployment="ms"}')" "2" "Prometheus sees the available replicas"
    expect_eq "$(q 'sum(kroll_deployment_rollouts_total{deployment="ms"})')" "5" "and the 5 rollouts"
    expect_match "$(q 'histogram_quantile(0.5, sum(apiserver_request_duration_seconds_bucket) by (le))')" \
        '^[0-9.e+-]+$|^NaN$' "a latency quantile computes"
    kill "$PROM"; wait "$PROM" 2>/dev/null
else
    say "prometheus missing (scripts/install-deps.sh --test): scrape not checked"
fi
finish
