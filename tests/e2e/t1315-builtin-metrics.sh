#!/usr/bin/env bash
# Built-in request metrics without Prometheus: the server's /api/v1/query answers a PromQL
# subset over the proxy's per-revision windows; the ClusterAnalysisTemplates kroll creates at
# start (request-success-rate, request-duration) use it through a prometheus provider without
# address; AnalysisRun outcomes on /metrics; and Debian's prometheus scraping the proxy's own
# /metrics answers the same query with the same value. Two Deployments behind one Service, two
# revisions: "good" answers every predict, "bad" fails a fifth (ERROR_PERCENT=20). Then a canary
# Rollout whose analysis step uses request-success-rate: a good canary completes, one failing
# half of its requests aborts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
svc_setup

# ---- the templates exist from the start and are not overwritten ----
expect_eq "$(kubectl get cat -o custom-columns=N:.metadata.name --no-headers | sort | tr '\n' ' ')" \
    "request-duration request-success-rate " "the built-in ClusterAnalysisTemplates exist"
expect_match "$(kubectl get cat request-success-rate -o jsonpath='{.spec.metrics[0].provider.prometheus.query}')" \
    'kroll_http_requests_total\{namespace="\{\{args.namespace\}\}",service="\{\{args.service-name\}\}",revision="\{\{args.canary-hash\}\}",code_class!="5xx"\}\[\{\{args.window\}\}\]' \
    "request-success-rate queries the portable series"
expect_eq "$(kubectl get cat request-success-rate -o jsonpath='{.spec.metrics[0].provider.prometheus.address}')" "" \
    "no address: answered by kroll here, by ARGO_ROLLOUTS_PROMETHEUS_ADDRESS elsewhere"

deploy good 1 1.0.3 tier=both
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
rev_of() { kubectl get pods -l "app=$1" -o jsonpath='{.items[0].metadata.labels.pod-template-hash}'; }
GOOD=$(rev_of good); BAD=$(rev_of bad)
ADMIN=$(cat "$KROLL_DATA/run/proxy.admin")
# (the bad Deployment's first pod, before its patch, may have been an endpoint: a third revision)
nseries() { curl -s -m 3 "http://$ADMIN/metrics" | grep '^kroll_http_requests_total{namespace="default",service="both",' |
    grep -c "revision=\"$GOOD\"\|revision=\"$BAD\""; }
wait_for 30 "the proxy exports both revisions' counters (at 0, before any request)" -- sh_eval 'test "$(nseries)" = 10'

# ---- Debian's prometheus scrapes the proxy before the traffic, so its counters start at 0 ----
PP=
if command -v prometheus >/dev/null; then
    PP=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$TEST_DIR/prom.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
- job_name: kroll-proxy
  static_configs: [{targets: ["$ADMIN"]}]
YAML
    prometheus --config.file="$TEST_DIR/prom.yml" --storage.tsdb.path="$TEST_DIR/prom" \
        --web.listen-address="127.0.0.1:$PP" >"$TEST_DIR/prom.log" 2>&1 &
    PROM=$!
    KROLL_PIDS="$KROLL_PIDS $PROM"
    prom_n() { curl -s -m 3 "http://127.0.0.1:$PP/api/v1/query" --data-urlencode \
        "query=count(kroll_http_requests_total{service=\"both\",revision=~\"$GOOD|$BAD\"})" | jq -r '.data.result[0].value[1] // 0'; }
    wait_for 60 "Prometheus scraped the proxy's zero counters" -- sh_eval 'test "$(prom_n)" = 10'
    sleep 2 # a second scrape at 0
fi

# ---- traffic ----
for _ in $(seq 1 200); do
    curl -s -m 3 -o /dev/null -w '%{http_code}\n' -X POST -d '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' \
        "http://$IP/v1/models/classifier:predict"
done >"$TEST_DIR/codes"
n5=$(grep -c '^500$' "$TEST_DIR/codes")
n2=$(grep -c '^200$' "$TEST_DIR/codes")
expect_eq "$((n5 + n2))" 200 "every predict answered 200 or 500 ($n5 were 500)"

SEL='namespace="default",service="both"'
RATIO="sum by (revision) (rate(kroll_http_requests_total{$SEL,code_class!=\"5xx\"}[5m])) / sum by (revision) (rate(kroll_http_requests_total{$SEL}[5m]))"
q() { api_curl /api/v1/query -G --data-urlencode "query=$1"; }
# "REV=VALUE ..." of a vector answer for the two revisions, sorted by revision
by_rev() { jq -r --arg g "$GOOD" --arg b "$BAD" '[.data.result[] | select(.metric.revision == $g or .metric.revision == $b) |
    "\(.metric.revision)=\(.value[1])"] | sort | join(" ")'; }
wait_for 30 "the query sees the bad revision's 500s (the server polls the proxy every 5 s)" -- \
    sh_eval 'q "sum(increase(kroll_http_requests_total{$SEL,code_class=\"5xx\"}[5m]))" | jq -e ".data.result[0].value[1] == \"$n5\"" >/dev/null'
OUT=$(q "$RATIO")
expect_eq "$(jq -r '.status + " " + .data.resultType' <<<"$OUT")" "success vector" "Prometheus' answer shape"
VALS=$(by_rev <<<"$OUT")
say "kroll: $VALS"
say "the ratio query's round trip (curl time_total, 5 tries): $(for _ in 1 2 3 4 5; do
    api_curl /api/v1/query -G --data-urlencode "query=$RATIO" -o /dev/null -w '%{time_total}\n'; done | sort -n | tr '\n' ' ')s"
SR=$(curl -s -m 3 "http://$ADMIN/stats?window=5m" | jq -r --arg b "$BAD" \
    '.services[] | select(.service | startswith("default/both:")) | .revisions[] | select(.revision == $b) | .successRate')
expect_eq "$(/usr/bin/python3 -c "
v = dict(x.split('=') for x in '$VALS'.split())
print('yes' if float(v['$GOOD']) == 1 and abs(float(v['$BAD']) - $SR) < 1e-9 and 0.7 < float(v['$BAD']) < 0.9 else 'no')")" yes \
    "the non-5xx ratio per revision: good 1, bad its /stats success rate ($SR)"
OUT=$(api_curl /api/v1/query --data-urlencode "query=histogram_quantile(0.99, sum by (revision, le) (rate(kroll_http_request_duration_seconds_bucket{$SEL}[1m]))) * 1000")
expect_match "$(by_rev <<<"$OUT")" "^$BAD=[0-9.]+ $GOOD=[0-9.]+\$|^$GOOD=[0-9.]+ $BAD=[0-9.]+\$" "POST form: the p99 in ms per revision"
expect_eq "$(q 'scalar(vector(2)) * 3' | jq -r '.data.resultType + " " + .data.result[1]')" "scalar 6" "a scalar answer"
OUT=$(q 'topk(1, kroll_http_requests_total)')
expect_eq "$(jq -r '.status + " " + .errorType' <<<"$OUT")" "error bad_data" "outside the subset: bad_data"
expect_match "$(jq -r .error <<<"$OUT")" 'function "topk" is not supported' "with a message naming it"
expect_match "$(q 'rate(kroll_http_requests_total[45s])' | jq -r .error)" 'windows 30s, 1m, 2m, 5m and 10m' \
    "a range the proxy does not keep is refused, naming those it keeps"
expect_eq "$(api_curl /api/v1/query_range -G --data-urlencode 'query=up' -o /dev/null -w '%{http_code}')" 400 "query_range: 400"
expect_eq "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$KROLL_PORT/api/v1/query?query=up")" 401 \
    "the same authentication as the API"

# ---- AnalysisRuns from the built-in templates (args as a Rollout would pass them) ----
# from_template TEMPLATE RUN HASH: an AnalysisRun with the template's metrics and args
from_template() {
    kubectl get cat "$1" -o json | jq --arg run "$2" --arg h "$3" '{apiVersion, kind: "AnalysisRun",
        metadata: {name: $run}, spec: {metrics: .spec.metrics, args: [.spec.args[] |
        if .name == "service-name" then .value = "both" elif .name == "namespace" then .value = "default"
        elif .name == "canary-hash" then .value = $h else . end]}}' | kubectl create -f - >/dev/null ||
        fail "create run $2"
}
phase_is() { [ "$(kubectl get ar "$1" -o jsonpath='{.status.phase}')" = "$2" ]; }
value_of() { kubectl get ar "$1" -o jsonpath='{.status.metricResults[0].measurements[0].value}'; }
from_template request-success-rate sr-good "$GOOD"
from_template request-success-rate sr-bad "$BAD"
from_template request-success-rate sr-none nosuchhash
from_template request-duration p99-good "$GOOD"
wait_for 30 "request-success-rate: Successful for the good revision" -- phase_is sr-good Successful
wait_for 30 "request-success-rate: Failed for the bad revision" -- phase_is sr-bad Failed
wait_for 30 "request-success-rate: Inconclusive without traffic" -- phase_is sr-none Inconclusive
wait_for 30 "request-duration: Successful for the good revision (p99 <= 500 ms)" -- phase_is p99-good Successful
expect_eq "$(value_of sr-good)" "[1]" "the value as Argo prints a vector"
expect_match "$(value_of sr-bad)" '^\[0\.[78][0-9]*\]$' "the bad revision's ratio, about 0.8"
expect_eq "$(value_of sr-none)" "[]" "no series: an empty vector"
expect_match "$(value_of p99-good)" '^\[[0-9.]+\]$' "the p99 in ms"

# ---- outcomes on the server's /metrics ----
M=$(api_curl /metrics)
expect_match "$M" 'kroll_analysis_runs_total\{namespace="default",outcome="Successful"\} 2' "outcome counter: 2 Successful"
expect_match "$M" 'kroll_analysis_runs_total\{namespace="default",outcome="Failed"\} 1' "outcome counter: 1 Failed"
expect_match "$M" 'kroll_analysis_runs_total\{namespace="default",outcome="Inconclusive"\} 1' "outcome counter: 1 Inconclusive"
expect_match "$M" 'analysis_run_metric_phase\{name="sr-bad",namespace="default",metric="request-success-rate",type="Prometheus",phase="Failed"\} 1' \
    "Argo's analysis_run_metric_phase"
expect_match "$M" 'analysis_run_info\{name="sr-good",namespace="default",phase="Successful"\} 1' "Argo's analysis_run_info"

# ---- the same query on Prometheus scraping the proxy ----
if [ -n "$PP" ]; then
    PROXY_ADMIN_OK=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$ADMIN/metrics")
    pq() { curl -s -m 3 "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$RATIO" | by_rev; }
    # within 0.01 of kroll's figure for both revisions
    close() { /usr/bin/python3 -c "
a = dict(x.split('=') for x in '$VALS'.split()); b = dict(x.split('=') for x in '$(pq)'.split())
import sys; sys.exit(0 if set(a) == set(b) and all(abs(float(a[k]) - float(b[k])) < 0.01 for k in a) else 1)"; }
    wait_for 30 "Prometheus answers the same ratio per revision (within 0.01)" -- close
    say "prometheus: $(pq) (proxy /metrics: $PROXY_ADMIN_OK)"
    kill "$PROM"; wait "$PROM" 2>/dev/null
else
    say "SKIP - the same query on Prometheus: the prometheus binary is missing (scripts/install-deps.sh --test)"
fi
# ---- a canary Rollout gated by request-success-rate (the manifest runs as is under Argo) ----
ro_manifest() { # ro_manifest MODEL_VERSION [ERROR_PERCENT]
    cat <<Y
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: server
        image: myrepo/tf-serving:1.0.3
        args: ["--port=0", "--rest_api_port=8501", "--model_name=classifier", "--model_base_path=/models/classifier"]
        env: [{name: MODEL_VERSION, value: "$1"}, {name: ERROR_PERCENT, value: "${2:-0}"}]
        ports: [{containerPort: 8501}]
        readinessProbe:
          httpGet: {path: /v1/models/classifier, port: 8501}
          periodSeconds: 1
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {duration: 20s}
      - analysis:
          templates: [{templateName: request-success-rate, clusterScope: true}]
          args:
          - {name: service-name, value: web}
          - {name: namespace, value: default}
          - name: canary-hash
            valueFrom: {podTemplateHashValue: Latest}
Y
}
ro_phase() { kubectl get ro web -o jsonpath='{.status.phase}'; }
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8501}]
Y
ro_manifest v1 | kubectl apply -f - >/dev/null || fail "apply the Rollout"
wait_for 90 "the Rollout's first revision is Healthy" -- sh_eval 'test "$(ro_phase)" = Healthy'
WIP=$(svc_ip web)
# Steady traffic through the proxy for the rest of the test (bounded), codes in a file.
( end=$(( $(date +%s) + 240 ))
  while [ "$(date +%s)" -lt "$end" ] && [ ! -e "$TEST_DIR/stop-load" ]; do
      curl -s -m 3 -o /dev/null -w '%{http_code}\n' -X POST -d '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' \
          "http://$WIP/v1/models/classifier:predict"
      sleep 0.05
  done >"$TEST_DIR/ro-codes" ) &
LOAD_PID=$!
KROLL_PIDS="$KROLL_PIDS $LOAD_PID"
ro_manifest v2 | kubectl apply -f - >/dev/null
wait_for 120 "a good canary passes request-success-rate and the Rollout completes" -- \
    sh_eval 'test "$(ro_phase)" = Healthy && test "$(kubectl get ro web -o jsonpath={.status.stableRS})" = "$(kubectl get ro web -o jsonpath={.status.currentPodHash})"'
H2=$(kubectl get ro web -o jsonpath='{.status.currentPodHash}')
expect_eq "$(kubectl get ar -l rollouts-pod-template-hash="$H2" -o jsonpath='{.items[0].status.phase} {.items[0].spec.args[?(@.name=="canary-hash")].value}')" \
    "Successful $H2" "the step's AnalysisRun: Successful, on the new revision's hash"
before=$(grep -c '^500$' "$TEST_DIR/ro-codes")
ro_manifest v3 50 | kubectl apply -f - >/dev/null
wait_for 120 "a canary failing half of its requests fails the analysis: the Rollout aborts" -- \
    sh_eval 'test "$(ro_phase)" = Degraded'
H3=$(kubectl get ro web -o jsonpath='{.status.currentPodHash}')
expect_eq "$(kubectl get ar -l rollouts-pod-template-hash="$H3" -o jsonpath='{.items[0].status.phase}')" "Failed" \
    "the bad canary's AnalysisRun Failed"
expect_match "$(kubectl get ro web -o jsonpath='{.status.message}')" 'request-success-rate' "the abort names the metric"
touch "$TEST_DIR/stop-load"; wait "$LOAD_PID" 2>/dev/null
say "the bad canary cost $(( $(grep -c '^500$' "$TEST_DIR/ro-codes") - before )) failed requests of $(wc -l <"$TEST_DIR/ro-codes") sent in the whole Rollout phase"

# ---- a user's template of the same name is kept across a restart ----
kubectl patch cat request-duration --type merge -p '{"spec":{"args":[{"name":"service-name"},{"name":"namespace"},{"name":"canary-hash"},{"name":"max","value":"250"},{"name":"window","value":"5m"}]}}' >/dev/null
kroll_stop
kroll_start
expect_eq "$(kubectl get cat request-duration -o jsonpath='{.spec.args[3].value}')" 250 "a changed template is not overwritten at start"

finish
