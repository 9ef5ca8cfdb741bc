#!/bin/bash
# t1310: argoproj.io/v1alpha1 analysis kinds with real kubectl: discovery (short names at, cat,
# ar; ClusterAnalysisTemplate cluster-scoped; no categories), `kubectl get ar` columns as Argo's
# CRD prints them, validation with field causes (names, providers, durations, counts, args),
# and AnalysisRuns measured by the controller against a python3 http.server on loopback:
# success, failureLimit, consecutiveErrorLimit, Inconclusive, terminate, args (value and
# secretKeyRef), dryRun "*" (checklist 54), the default trim to 10 measurements and
# measurementRetention raising it (57), a provider kroll lacks (datadog) as an Error (the job
# provider: t1311), and the prometheus provider against Debian's prometheus scraping kroll's
# /metrics.
. "$(dirname "$0")/lib.sh"

kroll_start
agg=$(api_curl /apis -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList')
expect_eq "$(jq -r '.items[] | select(.metadata.name=="argoproj.io") | .versions[0].version' <<<"$agg")" \
    "v1alpha1" "argoproj.io v1alpha1 in aggregated discovery"
leg=$(api_curl /apis/argoproj.io/v1alpha1)
expect_eq "$(jq -r '[.resources[] | select(.name|test("analysis")) | "\(.name):\(.shortNames[0]):\(.namespaced)"] | sort | join(" ")' <<<"$leg")" \
    "analysisruns:ar:true analysistemplates:at:true clusteranalysistemplates:cat:false" \
    "legacy discovery: short names and scopes"
expect_eq "$(jq -r '[.resources[] | select(.name|test("analysis")) | .categories // [] | length] | add' <<<"$leg")" \
    "0" "no categories (as Argo's CRDs)"
expect_eq "$(api_curl /openapi/v3/apis/argoproj.io/v1alpha1 | jq -r '[.paths[].patch."x-kubernetes-group-version-kind".kind | select(test("Analysis"))] | sort | join(",")')" \
    "AnalysisRun,AnalysisTemplate,ClusterAnalysisTemplate" "openapi v3 declares the kinds"
for sn in at cat ar; do expect_rc 0 "kubectl get $sn" -- kubectl get "$sn"; done

cat >"$TEST_DIR/at.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: ok-tmpl}
spec:
  args: [{name: url}, {name: count, value: "3"}]
  metrics:
  - name: web
    interval: 1s
    count: "{{args.count}}"
    successCondition: result.ok == true
    provider: {web: {url: "{{args.url}}", jsonPath: "{$}"}}
---
apiVersion: argoproj.io/v1alpha1
kind: ClusterAnalysisTemplate
metadata: {name: ok-cluster}
spec:
  metrics:
  - name: q
    provider: {prometheus: {address: "http://127.0.0.1:1", query: "up"}}
YAML
expect_rc 0 "apply a template and a cluster template" -- kubectl apply -f "$TEST_DIR/at.yaml"
expect_eq "$(kubectl get cat ok-cluster -o jsonpath='{.metadata.namespace}')" "" "cat is cluster-scoped"
expect_eq "$(kubectl get at -o custom-columns=N:.metadata.name --no-headers)" "ok-tmpl" "kubectl get at"
expect_match "$(kubectl get at 2>&1 | head -1)" '^NAME +AGE$' "kubectl get at prints NAME AGE"
sed -i 's/interval: 1s/interval: 2s/' "$TEST_DIR/at.yaml"
expect_rc 0 "re-apply a changed template (merge patch, as for a CRD)" -- kubectl apply -f "$TEST_DIR/at.yaml"
expect_eq "$(kubectl get at ok-tmpl -o jsonpath='{.spec.metrics[0].interval} {.metadata.generation}')" "2s 2" \
    "the change is stored and bumps the generation"
expect_match "$(kubectl patch at ok-tmpl --type strategic -p '{"spec":{"args":[]}}' 2>&1)" 'UnsupportedMediaType|415|not supported' \
    "strategic merge is refused as for a CRD"
expect_rc 0 "server-side apply" -- kubectl apply --server-side -f "$TEST_DIR/at.yaml"

cat >"$TEST_DIR/bad.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: bad}
spec:
  args: [{name: a}, {name: a}]
  metrics:
  - name: m
    interval: 5 minutes
    count: 3
    provider: {}
  - name: m
    count: 2
    failureLimit: 3
    provider: {web: {url: "ftp://x"}, prometheus: {query: "up"}}
YAML
out=$(kubectl apply -f "$TEST_DIR/bad.yaml" 2>&1)
expect_match "$out" 'spec.metrics\[0\].interval: Invalid value: "5 minutes"' "bad interval refused with its path"
expect_match "$out" 'spec.metrics\[0\].provider: Required value' "missing provider refused"
expect_match "$out" 'spec.metrics\[1\].name: Duplicate value: "m"' "duplicate metric name refused"
expect_match "$out" 'spec.metrics\[1\].count: Invalid value: 2: more than one measurement' "count > 1 without interval refused"
expect_match "$out" 'spec.metrics\[1\].provider: Forbidden: multiple providers' "two providers refused"
expect_match "$out" 'spec.metrics\[1\].provider.web.url: Invalid value' "non-http url refused"
expect_match "$out" 'spec.args\[1\].name: Duplicate value: "a"' "duplicate arg refused"
expect_rc 1 "an AnalysisRun without metrics is refused" -- kubectl create -f - <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: empty}
spec: {metrics: []}
YAML
# ---- AnalysisRuns end to end ----
WEB=$TEST_DIR/www
mkdir -p "$WEB"
echo '{"ok":true,"rate":0.97,"items":[{"ready":true},{"ready":true}]}' >"$WEB/ok.json"
echo '{"ok":false,"rate":0.5}' >"$WEB/bad.json"
(cd "$WEB" && exec /usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1) >"$TEST_DIR/http.log" 2>&1 &
HTTPD=$!
KROLL_PIDS="$KROLL_PIDS $HTTPD"
wait_for 10 "http.server is up" -- grep -q 'port [0-9]' "$TEST_DIR/http.log"
HP=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$TEST_DIR/http.log" | head -1)
U=http://127.0.0.1:$HP

# run NAME METRIC-YAML [SPEC-EXTRA-YAML]: creates an AnalysisRun with one metric.
run() {
    cat >"$TEST_DIR/run-$1.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: $1}
spec:
${3:-}
  metrics:
$2
YAML
    kubectl create -f "$TEST_DIR/run-$1.yaml" >/dev/null || fail "create run $1"
}
phase_is() { [ "$(kubectl get ar "$1" -o jsonpath='{.status.phase}')" = "$2" ]; }
field() { kubectl get ar "$1" -o jsonpath="$2"; }

run ok "  - name: m
    interval: 1s
    count: 2
    successCondition: result.ok == true && result.rate >= 0.95 && all(result.items, {.ready})
    provider: {web: {url: \"$U/ok.json\"}}"
run fail "  - name: m
    interval: 1s
    count: 4
    failureLimit: 1
    successCondition: result.ok
    provider: {web: {url: \"$U/bad.json\"}}"
run refused "  - name: m
    interval: 1s
    consecutiveErrorLimit: 1
    provider: {web: {url: \"http://127.0.0.1:1/\"}}"
run notfound "  - name: m
    provider: {web: {url: \"$U/nosuch.json\"}}"
run ttl "  - name: m
    provider: {web: {url: \"$U/ok.json\"}}" "  ttlStrategy: {secondsAfterSuccess: 2, secondsAfterFailure: 600}"
run inconclusive "  - name: m
    successCondition: result.rate > 0.99
    failureCondition: result.rate < 0.5
    provider: {web: {url: \"$U/ok.json\", jsonPath: \"{\$}\"}}"
run forever "  - name: m
    interval: 1s
    provider: {web: {url: \"$U/ok.json\", jsonPath: \"{\$.rate}\"}}" "  measurementRetention: [{metricName: \"m.*\", limit: 2}]"
run dd "  - name: d
    provider: {datadog: {query: avg:cpu}}"
kubectl create secret generic tok --from-literal=token=s3cret >/dev/null
run args "  - name: m
    count: 1
    successCondition: 'string(result) == \"{{args.want}}\"'
    provider:
      web:
        url: \"{{ args.base }}/ok.json\"
        jsonPath: \"{\$.items[0].ready}\"
        headers: [{key: Authorization, value: \"Bearer {{args.token}}\"}]" "  args:
  - {name: base, value: \"$U\"}
  - {name: want, value: \"true\"}
  - name: token
    valueFrom: {secretKeyRef: {name: tok, key: token}}"
run noarg "  - name: m
    provider: {web: {url: \"{{args.missing}}/ok.json\"}}"

# 54: dryRun "*" makes every metric a dry run: a failing one does not fail the run.
run dry "  - name: bad
    successCondition: result.ok
    provider: {web: {url: \"$U/bad.json\"}}
  - name: good
    successCondition: result.ok
    provider: {web: {url: \"$U/ok.json\"}}" "  dryRun: [{metricName: \"*\"}]"
# 57: an unbounded metric keeps its last 10 measurements; measurementRetention raises that.
run trim "  - name: m
    interval: 1s
    provider: {web: {url: \"$U/ok.json\", jsonPath: \"{\$.rate}\"}}
  - name: keep
    interval: 1s
    provider: {web: {url: \"$U/ok.json\", jsonPath: \"{\$.rate}\"}}" "  measurementRetention: [{metricName: keep, limit: 12}]"

# A Service's DNS name resolves to its cluster IP, as cluster DNS would (kroll has none).
kubectl create service clusterip web --tcp=80:8080 >/dev/null
CIP=$(kubectl get svc web -o jsonpath='{.spec.clusterIP}')
run svcname "  - name: m
    provider: {web: {url: \"http://web.default.svc.cluster.local/ok.json\", timeoutSeconds: 2}}"
# https: kroll's own API (its CA is not the system's: verification fails unless insecure).
run tls "  - name: insecure
    successCondition: result == 'ok'
    provider: {web: {url: \"https://127.0.0.1:$KROLL_PORT/readyz\", insecure: true}}"
run tlsverify "  - name: verify
    consecutiveErrorLimit: 0
    provider: {web: {url: \"https://localhost:$KROLL_PORT/readyz\"}}"
wait_for 30 "run ok: Successful after 2 measurements" -- phase_is ok Successful
expect_eq "$(field ok '{.status.metricResults[0].count}/{.status.metricResults[0].successful}/{range .status.metricResults[0].measurements[*]}{.phase},{end}')" \
    "2/2/Successful,Successful," "its counters and measurements"
expect_match "$(field ok '{.status.metricResults[0].measurements[0].value}')" '^\{"ok": ?true' "the measurement value is the body"
expect_match "$(field ok '{.status.startedAt} {.status.completedAt} {.status.runSummary.count} {.status.runSummary.successful}')" \
    '^20[0-9-]+T[0-9:]+Z 20[0-9-]+T[0-9:]+Z 1 1$' "startedAt, completedAt, runSummary"
wait_for 30 "ttlStrategy.secondsAfterSuccess: 2 deletes the finished run" -- sh_eval \
    '! kubectl get ar ttl >/dev/null 2>&1'
wait_for 30 "run fail: Failed at the second failure" -- phase_is fail Failed
expect_eq "$(field fail '{.status.message}')" 'Metric "m" assessed Failed due to failed (2) > failureLimit (1)' "Argo's Failed message"
expect_eq "$(field fail '{.status.metricResults[0].count}')" "2" "no measurement after the run ended"
wait_for 30 "run refused: Error after 2 consecutive errors" -- phase_is refused Error
expect_eq "$(field refused '{.status.message}')" \
    'Metric "m" assessed Error due to consecutiveErrors (2) > consecutiveErrorLimit (1)' "Argo's Error message"
expect_match "$(field refused '{.status.metricResults[0].measurements[0].message}')" 'connection refused' "the measurement says why"
expect_eq "$(field refused '{.status.metricResults[0].error}/{.status.metricResults[0].count}')" "2/" "errors are not counted as measurements"
wait_for 20 "run notfound: a 404 is an Error measurement" -- sh_eval \
    '[ "$(field notfound "{.status.metricResults[0].measurements[0].message}")" = "received non 2xx response code: 404" ]'
expect_eq "$(field notfound '{.status.metricResults[0].phase}')" "Running" "one Error is within the default consecutiveErrorLimit (4)"
wait_for 20 "run inconclusive: neither condition holds" -- phase_is inconclusive Inconclusive
expect_match "$(field inconclusive '{.status.message}')" 'inconclusive \(1\) > inconclusiveLimit \(0\)' "Argo's Inconclusive message"
wait_for 20 "run forever: three measurements of an unbounded metric" -- sh_eval \
    '[ "$(field forever "{.status.metricResults[0].count}")" -ge 3 ]'
expect_eq "$(field forever '{range .status.metricResults[0].measurements[*]}x{end}')" "xx" \
    "measurementRetention (regex m.*, limit 2) keeps the last 2"
expect_eq "$(field forever '{.status.phase}/{.status.metricResults[0].measurements[0].value}')" "Running/0.97" "still running; jsonPath narrowed the value"
# 55: the plugin's `terminate analysisrun` (a merge patch of spec.terminate).
expect_eq "$(timeout 60 "$KROLL_BIN" rollouts --data-dir "$KROLL_DATA" terminate analysisrun forever)" \
    "analysisRun 'forever' terminated" "55: kroll rollouts terminate analysisrun"
expect_eq "$(kubectl get ar forever -o jsonpath='{.spec.terminate}')" "true" "55: spec.terminate set"
out=$(timeout 60 "$KROLL_BIN" rollouts --data-dir "$KROLL_DATA" terminate analysisrun nope 2>&1); rc=$?
expect_eq "$rc/$out" "1/Error: analysisruns.argoproj.io \"nope\" not found" "55: terminate of a missing run exits 1"
wait_for 20 "terminate: Successful" -- phase_is forever Successful
expect_eq "$(field forever '{.status.message}')" "Run Terminated" "with message Run Terminated"
wait_for 20 "54: dryRun \"*\": the run is Successful although a metric failed" -- phase_is dry Successful
expect_eq "$(field dry '{range .status.metricResults[*]}{.name}={.phase}/{.dryRun},{end}')" \
    "bad=Failed/true,good=Successful/true," "54: both metrics ran as dry runs, the failing one Failed"
expect_eq "$(field dry '{.status.dryRunSummary.count}/{.status.dryRunSummary.successful}/{.status.dryRunSummary.failed}/{.status.runSummary.count}')" \
    "2/1/1/" "54: dryRunSummary counts them (2, 1 successful, 1 failed); runSummary none"
mcount() { field trim "{.status.metricResults[?(@.name==\"$1\")].count}"; }
wait_for 60 "57: 13 measurements of each unbounded metric" -- sh_eval \
    '[ "$(mcount m)" -ge 13 ] && [ "$(mcount keep)" -ge 13 ]'
expect_eq "$(field trim '{range .status.metricResults[?(@.name=="m")].measurements[*]}x{end}')" \
    "xxxxxxxxxx" "57: the default keeps the last 10 measurements"
expect_eq "$(field trim '{range .status.metricResults[?(@.name=="keep")].measurements[*]}x{end}')" \
    "xxxxxxxxxxxx" "57: measurementRetention limit 12 keeps 12"
t_run=$(date -d "$(field trim '{.status.startedAt}')" +%s)
t_first=$(date -d "$(field trim '{.status.metricResults[?(@.name=="m")].measurements[0].startedAt}')" +%s)
[ "$((t_first - t_run))" -ge 2 ] && pass "57: the oldest were trimmed (first kept started $((t_first - t_run)) s in)" ||
    fail "57: the first kept measurement started $((t_first - t_run)) s in, want >= 2 (oldest trimmed first)"
kubectl patch ar trim --type merge -p '{"spec":{"terminate":true}}' >/dev/null
wait_for 20 "datadog provider: Error" -- phase_is dd Error
expect_eq "$(field dd '{.status.metricResults[0].measurements[0].message}')" "provider datadog is not supported" "datadog: a clear Error measurement"
wait_for 20 "args: value and secretKeyRef substituted, Successful" -- phase_is args Successful
expect_eq "$(field args '{.status.metricResults[0].measurements[0].value}')" "true" "jsonPath {\$.items[0].ready}"
wait_for 20 "a Service name: measured at its cluster IP" -- sh_eval \
    '[ -n "$(field svcname "{.status.metricResults[0].measurements[0].phase}")" ]'
expect_match "$(field svcname '{.status.metricResults[0].measurements[0].message}')" \
    "$CIP|response code: 50[23]" "the request went to $CIP (no lookup of web.default.svc.cluster.local)"
wait_for 20 "https with insecure: true: Successful" -- phase_is tls Successful
expect_eq "$(field tls '{.status.metricResults[0].measurements[0].value}')" "ok" "the body of /readyz"
wait_for 20 "https with verification: Error" -- phase_is tlsverify Error
expect_match "$(field tlsverify '{.status.metricResults[0].measurements[0].message}')" \
    '^tls: failed to verify certificate: ' "https verifies the certificate against the system's CAs"
wait_for 20 "an undefined arg: Error" -- phase_is noarg Error
expect_eq "$(field noarg '{.status.message}')" "Unable to resolve metric arguments: failed to resolve {{args.missing}}" "names the arg"
expect_match "$(kubectl get ar ok fail 2>&1)" '^NAME +STATUS +AGE
ok +Successful +[0-9]+s
fail +Failed +[0-9]+s$' "kubectl get ar: NAME STATUS AGE"

# prometheus: Debian's server scraping kroll's own /metrics.
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
    wait_for 60 "Prometheus scraped kroll" -- sh_eval \
        '[ "$(curl -s "http://127.0.0.1:$PP/api/v1/query?query=up" | jq -r ".data.result[0].value[1]")" = 1 ]'
    run prom "  - name: up
    successCondition: len(result) == 1 && result[0] >= 1
    provider: {prometheus: {address: \"http://127.0.0.1:$PP\", query: 'up{job=\"kroll\"}'}}
  - name: scalar
    successCondition: result == 3
    provider: {prometheus: {address: \"http://127.0.0.1:$PP\", query: 'scalar(vector(3))'}}
  - name: empty
    consecutiveErrorLimit: 0
    successCondition: result[0] > 0
    provider: {prometheus: {address: \"http://127.0.0.1:$PP\", query: 'up{job=\"nosuch\"}'}}" "  dryRun: [{metricName: empty}]"
    wait_for 30 "prometheus: vector and scalar metrics Successful" -- phase_is prom Successful
    expect_eq "$(field prom '{range .status.metricResults[*]}{.name}={.measurements[0].value},{end}')" \
        "up=[1],scalar=3,empty=[]," "values as Argo prints them"
    expect_match "$(field prom '{.status.metricResults[2].measurements[0].message}')" \
        'index out of range.*metric result is nil or empty' "an empty vector: an Error measurement"
    expect_eq "$(field prom '{.status.dryRunSummary.count}/{.status.dryRunSummary.error}/{.status.runSummary.count}/{.status.runSummary.successful}')" \
        "1/1/2/2" "the dry-run metric (Error) is tallied apart and does not fail the run"
    kill "$PROM"; wait "$PROM" 2>/dev/null
else
    say "SKIP - prometheus provider: the prometheus binary is missing (scripts/install-deps.sh --test)"
fi
finish
