#!/bin/bash
# t1322: a canary Rollout's analysis step (progressive-delivery.md checklist 46-48, 50):
# steps setWeight 20, analysis, setWeight 100; the step's AnalysisRun merges an
# AnalysisTemplate and a ClusterAnalysisTemplate (metrics concatenated, args merged, the new
# pod hash through podTemplateHashValue: Latest) and measures a JSON file served by a local
# python3 http.server. Good -> the run is Successful and the rollout completes; bad -> the run
# Failed, the rollout aborted (Degraded with Argo's message, canary at 0, canary Service back
# on stable); neither condition holding -> Inconclusive pauses with InconclusiveAnalysisRun
# until promote, which skips the step and terminates nothing that is still needed; a metric
# answering HTTP 500 errs five times in a row, the run ends in Error and the rollout aborts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

dl_images
kroll_start

WEB=$TEST_DIR/www
mkdir -p "$WEB"
echo '{"ok":true}' >"$WEB/state.json"
(cd "$WEB" && exec /usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1) >"$TEST_DIR/http.log" 2>&1 &
HTTPD=$!
KROLL_PIDS="$KROLL_PIDS $HTTPD"
wait_for 10 "http.server is up" -- grep -q 'port [0-9]' "$TEST_DIR/http.log"
HP=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$TEST_DIR/http.log" | head -1)

kubectl apply -f - >/dev/null <<YAML || fail "apply templates"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: web-ok}
spec:
  args: [{name: url, value: "http://127.0.0.1:$HP/state.json"}, {name: hash}]
  metrics:
  - name: web
    successCondition: result.ok == true
    failureCondition: result.ok == false
    provider: {web: {url: "{{args.url}}?hash={{args.hash}}"}}
---
apiVersion: argoproj.io/v1alpha1
kind: ClusterAnalysisTemplate
metadata: {name: web-reachable}
spec:
  args: [{name: url}]
  metrics:
  - name: reachable
    provider: {web: {url: "{{args.url}}"}}
YAML

svc_apply demo-stable demo
svc_apply demo-canary demo
STRAT='    canary:
      canaryService: demo-canary
      stableService: demo-stable
      steps:
      - setWeight: 20
      - analysis:
          templates: [{templateName: web-ok}, {templateName: web-reachable, clusterScope: true}]
          args: [{name: hash, valueFrom: {podTemplateHashValue: Latest}}]
      - setWeight: 100'
ro_manifest demo 2 test/app:1 "$STRAT" | kubectl apply -f - >/dev/null
wait_for 60 "initial deploy Healthy (no analysis)" -- ro_is demo Healthy/
expect_eq "$(kubectl get ar -o name)" "" "the initial deploy creates no AnalysisRun"
h1=$(ro_field demo .status.currentPodHash)

# --- good: the run is Successful, the step completes, the rollout completes ---
ro_image demo test/app:2
wait_for 90 "46: good metric: the rollout completes" -- ro_is demo Healthy/
h2=$(ro_field demo .status.currentPodHash)
ar2=demo-$h2-2-1
expect_eq "$(kubectl get ar "$ar2" -o jsonpath='{.status.phase}')" "Successful" "46: run $ar2 Successful"
out=$(kr get rollout demo 2>&1)
expect_match "$out" "α $ar2 +AnalysisRun +✔ Successful +[0-9a-z]+ +✔ [1-9]" \
    "kroll rollouts get: the run in the revision's tree with its measurement count"
expect_eq "$(kubectl get ar "$ar2" -o jsonpath='{.metadata.labels.rollout-type}/{.metadata.labels.step-index}/{.metadata.labels.rollouts-pod-template-hash}/{.metadata.labels.app}')" \
    "Step/1/$h2/demo" "46: labels rollout-type, step-index, hash, the selector's"
expect_eq "$(kubectl get ar "$ar2" -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].controller}')" \
    "Rollout/demo/true" "46: owned by the Rollout"
expect_eq "$(kubectl get ar "$ar2" -o jsonpath='{.spec.metrics[*].name}')" "web reachable" \
    "metrics of both templates concatenated"
expect_eq "$(kubectl get ar "$ar2" -o jsonpath='{.spec.args[?(@.name=="hash")].value}')" "$h2" \
    "podTemplateHashValue: Latest gives the new hash"
expect_match "$(cat "$TEST_DIR/http.log")" "GET /state.json\\?hash=$h2 " "the metric measured with the hash substituted"
expect_eq "$(ro_field demo .status.canary.currentStepAnalysisRunStatus)" "" "46: cleared after the step"
expect_match "$(events_for demo)" "RolloutStepCompleted Rollout step 2/3 completed \\(analysis\\)" "step completed event"
expect_match "$(events_for demo)" "AnalysisRunSuccessful Step Analysis Run '$ar2' Status New: 'Successful' Previous: '(Running|Pending)'" \
    "Argo's AnalysisRun<Phase> event reason"

# --- bad: the run Fails, the rollout aborts ---
echo '{"ok":false}' >"$WEB/state.json"
ro_image demo test/app:3
h3=
aborted() {
    h3=$(ro_field demo .status.currentPodHash)
    ro_is demo "Degraded/RolloutAborted: Rollout aborted update to revision 3: Step-based analysis phase error/failed: Metric \"web\" assessed Failed due to failed (1) > failureLimit (0)"
}
wait_for 90 "48: bad metric: the rollout aborts with Argo's message" -- aborted
ar3=demo-$h3-3-1
expect_eq "$(kubectl get ar "$ar3" -o jsonpath='{.status.phase}')" "Failed" "48: run $ar3 Failed"
expect_eq "$(ro_field demo .status.abort)/$(ro_field demo .status.canary.currentStepAnalysisRunStatus.status)" \
    "true/Failed" "48: status.abort and currentStepAnalysisRunStatus"
canary_gone() { [ "$(rs_field "demo-$h3" .spec.replicas)" = 0 ]; }
wait_for 60 "48: the canary is scaled to 0" -- canary_gone
wait_for 30 "48: the canary Service is back on stable" -- eval '[ "$(svc_hash demo-canary)" = "$h2" ]'
expect_eq "$(svc_hash demo-stable)" "$h2" "48: the stable Service stays on stable"
expect_match "$(kubectl get ar --no-headers | awk '{print $1}' | sort | tr '\n' ' ')" "$ar2 $ar3|$ar3 $ar2" \
    "kubectl get ar lists both runs"

# --- retry with neither condition holding: Inconclusive pauses, promote skips the step ---
echo '{"ok":"maybe"}' >"$WEB/state.json"
ro_status_patch demo '{"status":{"abort":false}}'
wait_for 90 "50: Inconclusive pauses the rollout" -- ro_is demo Paused/InconclusiveAnalysisRun
expect_eq "$(kubectl get ar "$ar3.1" -o jsonpath='{.status.phase}')" "Inconclusive" \
    "after a retry a fresh run $ar3.1 is made (the old name is taken)"
expect_eq "$(ro_field demo .status.currentStepIndex)" "1" "50: held at the analysis step"
ro_status_patch demo '{"status":{"pauseConditions":null}}'
wait_for 90 "50: promote skips the step and the rollout completes" -- ro_is demo Healthy/
expect_eq "$(ro_field demo .status.stableRS)" "$h3" "the promoted revision is stable"
expect_eq "$( [ "$h1" != "$h2" ] && [ "$h2" != "$h3" ] && echo distinct)" "distinct" "three revisions, three hashes"

# --- 47: a web metric answering 500: Error measurements; the fifth in a row (default
# consecutiveErrorLimit 4) ends the run in Error, and the rollout aborts ---
/usr/bin/python3 -u - >"$TEST_DIR/http500.log" 2>&1 <<'PY' &
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"error":"boom"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("port", s.server_address[1], flush=True)
s.serve_forever()
PY
H500=$!
KROLL_PIDS="$KROLL_PIDS $H500"
wait_for 10 "the 500 server is up" -- grep -q '^port [0-9]' "$TEST_DIR/http500.log"
P500=$(sed -n 's/^port \([0-9]*\).*/\1/p' "$TEST_DIR/http500.log" | head -1)
kubectl apply -f - >/dev/null <<YAML || fail "apply the 500 template"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: web-500}
spec:
  metrics:
  - name: m
    interval: 2s
    count: 3
    successCondition: result.ok == true
    provider: {web: {url: "http://127.0.0.1:$P500/health"}}
YAML
ro_manifest err 1 test/app:1 '    canary:
      steps: [{setWeight: 50}, {analysis: {templates: [{templateName: web-500}]}}, {setWeight: 100}]' |
    kubectl apply -f - >/dev/null
wait_for 60 "err: initial deploy Healthy" -- ro_is err Healthy/
ro_image err test/app:2
he=
err_aborted() {
    he=$(ro_field err .status.currentPodHash)
    ro_is err "Degraded/RolloutAborted: Rollout aborted update to revision 2: Step-based analysis phase error/failed: Metric \"m\" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4)"
}
wait_for 120 "47: five 500s in a row: the run is Error and the rollout aborts with Argo's message" -- err_aborted
are=err-$he-2-1
expect_eq "$(kubectl get ar "$are" -o jsonpath='{.status.phase}/{.status.metricResults[0].phase}/{.status.metricResults[0].error}/{.status.metricResults[0].consecutiveError}')" \
    "Error/Error/5/5" "47: run $are and its metric Error after 5 consecutive errors"
expect_eq "$(kubectl get ar "$are" -o jsonpath='{range .status.metricResults[0].measurements[*]}{.phase}: {.message};{end}')" \
    "$(for i in 1 2 3 4 5; do printf 'Error: received non 2xx response code: 500;'; done)" \
    "47: each measurement an Error: received non 2xx response code: 500"
expect_eq "$(ro_field err .status.abort)/$(ro_field err .status.canary.currentStepAnalysisRunStatus.status)" \
    "true/Error" "47: status.abort, currentStepAnalysisRunStatus Error"
wait_for 60 "47: the canary is scaled to 0" -- sh_eval '[ "$(rs_field "err-$he" .spec.replicas)" = 0 ]'
finish
