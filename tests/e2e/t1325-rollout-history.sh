#!/bin/bash
# t1325: a Rollout's history (progressive-delivery.md checklist 37, 38, 72 and section 7).
# rollbackWindow {revisions: 1}: an undo to the previous stable (no ReplicaSet created between
# it and the stable one) skips the steps and the analysis ("Rollback within window"); an undo
# past one ReplicaSet in between is a normal update (steps and analysis run, as in Argo, whose
# docs under-count the window by one). revisionHistoryLimit: 1 deletes the older scaled-down
# ReplicaSets together with their AnalysisRuns; successfulRunHistoryLimit: 1 keeps only the
# newest Successful run of those left. A blue-green undo within the window switches the active
# Service back without the BlueGreenPause.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

dl_images
kroll_start

WEB=$TEST_DIR/www
mkdir -p "$WEB"
echo '{"ok":true}' >"$WEB/state.json"
(cd "$WEB" && exec /usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1) >"$TEST_DIR/http.log" 2>&1 &
KROLL_PIDS="$KROLL_PIDS $!"
wait_for 10 "http.server is up" -- grep -q 'port [0-9]' "$TEST_DIR/http.log"
HP=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$TEST_DIR/http.log" | head -1)
kubectl apply -f - >/dev/null <<YAML || fail "apply template"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: ok}
spec:
  metrics:
  - name: web
    successCondition: result.ok == true
    provider: {web: {url: "http://127.0.0.1:$HP/state.json"}}
YAML

# w: analysis then pause; window 1; history 1.
ro_manifest w 1 test/app:1 '    canary: {steps: [{analysis: {templates: [{templateName: ok}]}}, {pause: {}}]}' |
    sed 's/^  replicas: 1$/  replicas: 1\n  revisionHistoryLimit: 1\n  rollbackWindow: {revisions: 1}/' |
    kubectl apply -f - >/dev/null
wait_for 60 "w: initial deploy Healthy" -- ro_is w Healthy/
h1=$(ro_field w .status.currentPodHash)
update() { # ROLLOUT IMAGE: a full update through its pause
    # Creation times have whole seconds: ReplicaSets made in the same second are not "before"
    # one another, for Argo as here (metav1.Time).
    sleep 1.1
    ro_image "$1" "$2"
    wait_for 90 "$1 $2: paused at the pause step" -- ro_is "$1" Paused/CanaryPauseStep
    ro_status_patch "$1" '{"status":{"pauseConditions":null}}'
    wait_for 90 "$1 $2: promoted, Healthy" -- ro_is "$1" Healthy/
}
ar_names() { kubectl get ar -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | LC_ALL=C sort | tr '\n' ' '; }
names() { printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' '; }
update w test/app:2
h2=$(ro_field w .status.currentPodHash)
update w test/app:3
h3=$(ro_field w .status.currentPodHash)
expect_eq "$(ar_names)" "$(names "w-$h2-2-0" "w-$h3-3-0")" "both updates ran their analysis"
wait_for 30 "72: revisionHistoryLimit 1 deletes the oldest RS" -- eval '[ "$(rs_names w | wc -w)" = 2 ]'

# 38: undo to the previous stable: within the window.
expect_eq "$(kr undo w)" "rollout 'w' undo" "38: kroll rollouts undo"
fast() { [ "$(ro_field w .status.stableRS)" = "$h2" ] && ro_is w Healthy/; }
wait_for 60 "38: rollback within the window completes" -- fast
expect_match "$(events_for w)" "RolloutCompleted Rollout completed update to revision 4 \\($h2\\): Rollback within window" \
    "38: event cause Rollback within window"
expect_eq "$(ro_field w .status.currentStepIndex)" "2" "38: steps skipped (index 2)"
expect_eq "$(ar_names)" "$(names "w-$h2-2-0" "w-$h3-3-0")" "38: no AnalysisRun for the rollback"

# 72: the next update leaves two scaled-down RSs: the oldest (v3) goes with its run.
update w test/app:4
h4=$(ro_field w .status.currentPodHash)
gone3() { ! kubectl get rs "w-$h3" >/dev/null 2>&1 && [ "$(ar_names)" = "$(names "w-$h2-2-0" "w-$h4-5-0")" ]; }
wait_for 30 "72: RS w-$h3 deleted together with its AnalysisRun" -- gone3
expect_eq "$(rs_names w | wc -w)" "2" "72: the new RS and one scaled-down RS are kept"

# successfulRunHistoryLimit 1: only the newest Successful run of a live RS stays.
kubectl patch ro w --type merge -p '{"spec":{"analysis":{"successfulRunHistoryLimit":1}}}' >/dev/null
wait_for 30 "successfulRunHistoryLimit 1 keeps the newest run" -- eval '[ "$(ar_names)" = "w-$h4-5-0 " ]'
out=$(kubectl patch ro w --type merge -p '{"spec":{"rollbackWindow":{"revisions":-1}}}' 2>&1)
expect_match "$out" "spec.rollbackWindow.revisions: Invalid value: -1: must be greater than or equal to 0" \
    "a negative window is refused"

# o: window 1, three revisions; an undo past one RS in between runs the steps (37).
ro_manifest o 1 test/app:1 '    canary: {steps: [{setWeight: 50}, {pause: {}}]}' |
    sed 's/^  replicas: 1$/  replicas: 1\n  rollbackWindow: {revisions: 1}/' | kubectl apply -f - >/dev/null
wait_for 60 "o: initial deploy Healthy" -- ro_is o Healthy/
o1=$(ro_field o .status.currentPodHash)
update o test/app:2
update o test/app:3
expect_eq "$(kr undo o --to-revision=1)" "rollout 'o' undo" "37: undo to revision 1"
wait_for 60 "37: outside the window the steps run (pause at step 1)" -- ro_is o Paused/CanaryPauseStep
expect_eq "$(ro_field o .status.currentPodHash)/$(ro_field o .status.currentStepIndex)" "$o1/1" \
    "37: the v1 RS is the canary at step 1"

# b: blue-green, window 1: the undo to the previous active skips the BlueGreenPause.
svc_apply b-active b
ro_manifest b 1 test/app:1 '    blueGreen: {activeService: b-active, autoPromotionEnabled: false, scaleDownDelaySeconds: 0}' |
    sed 's/^  replicas: 1$/  replicas: 1\n  rollbackWindow: {revisions: 1}/' | kubectl apply -f - >/dev/null
wait_for 60 "b: initial deploy Healthy" -- ro_is b Healthy/
b1=$(ro_field b .status.currentPodHash)
sleep 1.1
ro_image b test/app:2
wait_for 60 "b: v2 waits in BlueGreenPause" -- ro_is b Paused/BlueGreenPause
ro_status_patch b '{"status":{"pauseConditions":null}}'
wait_for 60 "b: v2 promoted" -- eval '[ "$(ro_field b .status.stableRS)" != "$b1" ] && ro_is b Healthy/'
expect_eq "$(kr undo b)" "rollout 'b' undo" "blue-green undo"
bfast() { [ "$(ro_field b .status.stableRS)" = "$b1" ] && [ "$(svc_hash b-active)" = "$b1" ] && ro_is b Healthy/; }
wait_for 60 "38 (blue-green): within the window the active Service switches back without a pause" -- bfast
expect_match "$(events_for b)" "RolloutCompleted Rollout completed update to revision 3 \\($b1\\): Rollback within window" \
    "38 (blue-green): event cause Rollback within window"
finish
