#!/bin/bash
# t1323: a canary Rollout's background analysis (progressive-delivery.md checklist 52 and
# section 6.4): spec.strategy.canary.analysis with startingStep 1 over steps [pause, setWeight
# 50, pause]; the run `<rollout>-<hash>-<revision>` (no step suffix, rollout-type Background)
# measures a JSON file served by a local python3 http.server every second. Good -> it runs
# through the update and is terminated (Successful, "Run Terminated") when the rollout
# completes; bad -> Failed aborts the rollout with Argo's "Background analysis phase
# error/failed" message; neither condition -> Inconclusive pauses the rollout
# (InconclusiveAnalysisRun) and holds it until promote, which starts a fresh run; a template
# arg the Rollout does not give -> InvalidSpec.
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

kubectl apply -f - >/dev/null <<YAML || fail "apply template"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: bg-web}
spec:
  args: [{name: hash}]
  metrics:
  - name: web
    interval: 1s
    successCondition: result.ok == true
    failureCondition: result.ok == false
    provider: {web: {url: "http://127.0.0.1:$HP/state.json?hash={{args.hash}}"}}
YAML

out=$(ro_manifest bad 1 test/app:1 '    canary: {analysis: {templates: []}}' | kubectl apply -f - 2>&1)
expect_match "$out" "spec.strategy.canary.analysis.templates: Required value: analysis must reference at least one template" \
    "background analysis without templates refused (422)"

svc_apply demo-stable demo
svc_apply demo-canary demo
STRAT='    canary:
      canaryService: demo-canary
      stableService: demo-stable
      analysis:
        startingStep: 1
        templates: [{templateName: bg-web}]
        args: [{name: hash, valueFrom: {podTemplateHashValue: Latest}}]
      steps:
      - pause: {}
      - setWeight: 50
      - pause: {}'
ro_manifest demo 2 test/app:1 "$STRAT" | kubectl apply -f - >/dev/null
wait_for 60 "initial deploy Healthy (no analysis)" -- ro_is demo Healthy/
expect_eq "$(kubectl get ar -o name)" "" "the initial deploy creates no AnalysisRun"
h1=$(ro_field demo .status.currentPodHash)
promote() { ro_status_patch demo '{"status":{"pauseConditions":null}}'; }

# --- good: no run before startingStep, then one for the whole update, terminated at the end ---
ro_image demo test/app:2
wait_for 60 "paused at step 0" -- ro_is demo Paused/CanaryPauseStep
sleep 1
expect_eq "$(kubectl get ar -o name)" "" "52: no background run before startingStep"
h2=$(ro_field demo .status.currentPodHash)
ar2=demo-$h2-2
promote
wait_for 60 "paused at step 2 with the background run going" -- eval '[ "$(ro_field demo .status.currentStepIndex)" = 2 ] && ro_is demo Paused/CanaryPauseStep'
expect_eq "$(kubectl get ar "$ar2" -o jsonpath='{.metadata.labels.rollout-type}/{.metadata.labels.step-index}/{.metadata.labels.rollouts-pod-template-hash}/{.metadata.labels.app}')" \
    "Background//$h2/demo" "52: run $ar2 labelled rollout-type Background (no step-index)"
expect_eq "$(kubectl get ar "$ar2" -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}')" \
    "Rollout/demo" "owned by the Rollout"
expect_eq "$(ro_field demo .status.canary.currentBackgroundAnalysisRunStatus.name)/$(ro_field demo .status.canary.currentBackgroundAnalysisRunStatus.status)" \
    "$ar2/Running" "status.canary.currentBackgroundAnalysisRunStatus while it runs"
measured() { [ "$(grep -c "GET /state.json?hash=$h2 " "$TEST_DIR/http.log")" -ge 2 ]; }
wait_for 30 "the background metric keeps measuring (interval 1s)" -- measured
promote
wait_for 60 "the rollout completes" -- ro_is demo Healthy/
terminated() { [ "$(kubectl get ar "$ar2" -o jsonpath='{.status.phase}/{.status.message}')" = "Successful/Run Terminated" ]; }
wait_for 30 "52: run terminated when the rollout completes (Successful, Run Terminated)" -- terminated
expect_eq "$(kubectl get ar "$ar2" -o jsonpath='{.spec.terminate}')" "true" "52: terminated through spec.terminate"
expect_eq "$(ro_field demo .status.canary.currentBackgroundAnalysisRunStatus)" "" "status cleared after completion"

# --- bad: a Failed background run aborts the rollout ---
echo '{"ok":false}' >"$WEB/state.json"
ro_image demo test/app:3
wait_for 60 "v3 paused at step 0" -- eval '[ "$(ro_field demo .status.currentPodHash)" != "$h2" ] && ro_is demo Paused/CanaryPauseStep'
h3=$(ro_field demo .status.currentPodHash)
promote
aborted() { ro_is demo "Degraded/RolloutAborted: Rollout aborted update to revision 3: Background analysis phase error/failed: Metric \"web\" assessed Failed due to failed (1) > failureLimit (0)"; }
wait_for 60 "52: Failed background run aborts with Argo's message" -- aborted
expect_eq "$(kubectl get ar "demo-$h3-3" -o jsonpath='{.status.phase}')" "Failed" "run demo-$h3-3 Failed"
expect_eq "$(ro_field demo .status.abort)/$(ro_field demo .status.canary.currentBackgroundAnalysisRunStatus.status)/$(ro_field demo .status.currentStepIndex)" \
    "true/Failed/0" "status.abort, the run's status kept, currentStepIndex 0"
canary_gone() { [ "$(rs_field "demo-$h3" .spec.replicas)" = 0 ]; }
wait_for 60 "the canary is scaled to 0" -- canary_gone
wait_for 30 "the canary Service is back on stable" -- eval '[ "$(svc_hash demo-canary)" = "$h2" ]'
expect_eq "$(svc_hash demo-stable)" "$h2" "the stable Service stays on stable"

# --- retry, Inconclusive: the rollout pauses and holds until promote ---
echo '{"ok":"maybe"}' >"$WEB/state.json"
ro_status_patch demo '{"status":{"abort":false}}'
wait_for 60 "retry: paused at step 0" -- ro_is demo Paused/CanaryPauseStep
promote
incon() { kubectl get ro demo -o jsonpath='{.status.pauseConditions[*].reason}' | grep -q InconclusiveAnalysisRun; }
wait_for 60 "Inconclusive background run pauses the rollout (InconclusiveAnalysisRun)" -- incon
expect_match "$(ro_phase demo)" "^Paused/(InconclusiveAnalysisRun|CanaryPauseStep)$" "phase Paused"
expect_eq "$(kubectl get ar "demo-$h3-3.1" -o jsonpath='{.status.phase}')/$(ro_field demo .status.canary.currentBackgroundAnalysisRunStatus.status)" \
    "Inconclusive/Inconclusive" "after a retry a fresh run demo-$h3-3.1 (old name taken), Inconclusive"
idx=$(ro_field demo .status.currentStepIndex)
sleep 3
expect_eq "$(ro_field demo .status.currentStepIndex)/$(ro_field demo .status.stableRS)" "$idx/$h2" "held: no step advance while Inconclusive"
echo '{"ok":true}' >"$WEB/state.json"
promote
wait_for 60 "promote starts a fresh run" -- eval '[ "$(kubectl get ar "demo-$h3-3.2" -o jsonpath="{.metadata.labels.rollout-type}")" = Background ]'
# The pause step may still be ahead (when the run was Inconclusive before step 1 completed).
advance() { ro_is demo Paused/CanaryPauseStep && promote; ro_is demo Healthy/; }
wait_for 60 "the rollout completes after promote" -- advance
expect_eq "$(ro_field demo .status.stableRS)" "$h3" "the promoted revision is stable"
wait_for 30 "the fresh run is terminated at completion" -- eval '[ "$(kubectl get ar "demo-$h3-3.2" -o jsonpath="{.status.phase}")" = Successful ]'
expect_match "$(events_for demo)" "AnalysisRunRunning Background Analysis Run 'demo-$h2-2' Status New: 'Running'" "event names the Background run"

# --- 53: a template arg without a value that the Rollout does not give is InvalidSpec ---
kubectl patch ro demo --type merge -p '{"spec":{"strategy":{"canary":{"analysis":{"args":null}}}}}' >/dev/null
ro_image demo test/app:4
wait_for 60 "v4 paused at step 0" -- eval '[ "$(ro_field demo .status.currentPodHash)" != "$h3" ] && ro_is demo Paused/CanaryPauseStep'
promote
noargs="InvalidSpec: The Rollout \"demo\" is invalid: spec.strategy.canary.analysis.templates: Invalid value: \"bg-web\": missing analysis arguments in rollout spec"
wait_for 60 "53: missing background args -> Degraded with Argo's InvalidSpec message" -- ro_is demo "Degraded/$noargs"
expect_eq "$(kubectl get ar -l rollouts-pod-template-hash="$(ro_field demo .status.currentPodHash)" -o name)" "" "53: no run made"
finish
