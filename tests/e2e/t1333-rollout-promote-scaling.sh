#!/bin/bash
# t1333: promote while a setWeight step is still scaling (progressive-delivery.md checklist 30):
# the canary image never becomes ready, so setWeight never completes by itself; the plugin's
# promote (a /status merge patch of pauseConditions and currentStepIndex + 1) moves the rollout
# to the next step, which pauses. An abort from there is Degraded and stays Degraded while
# the ReplicaSets settle (Argo leaves it so until retry, promote --full or a new template).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

dl_images
kroll_start

STRAT='    canary:
      steps: [{setWeight: 20}, {pause: {}}, {setWeight: 50}, {pause: {}}]'
ro_manifest demo 5 test/app:1 "$STRAT" | kubectl apply -f - >/dev/null
wait_for 60 "initial deploy Healthy" -- ro_is demo Healthy/
h1=$(ro_field demo .status.stableRS)
idx() { ro_field demo .status.currentStepIndex; }

# --- 30: promote during setWeight 20 (the canary pod is never available) ---
ro_image demo test/app:bad
h2=
scaling() {
    h2=$(ro_field demo .status.currentPodHash)
    [ -n "$h2" ] && [ "$h2" != "$h1" ] && [ "$(rs_field "demo-$h2" .spec.replicas)" = 1 ]
}
wait_for 60 "setWeight 20: the canary ReplicaSet is scaled to 1" -- scaling
sleep 2
expect_eq "$(idx)/$(rs_spec_avail "demo-$h2")" "0/1/" \
    "30: still at step 0 (setWeight 20), its canary pod not available"
expect_match "$(ro_phase demo)" "^Progressing/" "30: Progressing while the step scales"
expect_eq "$(kr promote demo)" "rollout 'demo' promoted" "30: kroll rollouts promote"
expect_eq "$(idx)" "1" "30: promote's status patch set currentStepIndex 0 -> 1"
wait_for 30 "30: the rollout moves on to step 1 and pauses there" -- ro_is demo Paused/CanaryPauseStep
expect_eq "$(idx)/$(rs_spec_avail "demo-$h2")" "1/1/" "30: at step 1 with the canary still not available"
expect_eq "$(ro_field demo .status.pauseConditions[0].reason)/$(ro_field demo .status.controllerPause)" \
    "CanaryPauseStep/true" "30: the pause step's condition"
# Promote from the pause: setWeight 50 scales (and never completes); the plugin's patch, sent
# with kubectl, skips it too.
ro_status_patch demo '{"status":{"pauseConditions":null}}'
wait_for 30 "promote from the pause: step 2 (setWeight 50)" -- sh_eval '[ "$(idx)" = 2 ]'
grown() { [ "$(rs_field "demo-$h2" .spec.replicas)" -ge 2 ]; }
wait_for 30 "setWeight 50: the canary ReplicaSet grows" -- grown
expect_match "$(ro_phase demo)" "^Progressing/" "30: Progressing during setWeight 50"
ro_status_patch demo '{"status":{"pauseConditions":null,"currentStepIndex":3}}'
wait_for 30 "30: the plugin's patch (currentStepIndex 3) pauses at step 3" -- ro_is demo Paused/CanaryPauseStep
expect_eq "$(idx)" "3" "30: index 3"
expect_eq "$(events_for demo | grep -c 'RolloutStepCompleted.*setWeight')" "0" \
    "30: neither setWeight step was completed by the controller (promote skipped both)"

# --- the abort is Degraded and stays Degraded ---
ro_status_patch demo '{"status":{"abort":true}}'
msg="Degraded/RolloutAborted: Rollout aborted update to revision 2"
wait_for 30 "abort: Degraded" -- ro_is demo "$msg"
settled() { [ "$(rs_spec_avail "demo-$h2")" = 0/ ] && [ "$(rs_spec_avail "demo-$h1")" = 5/5 ]; }
# Every phase written while the ReplicaSets settle, and for a while after, through a watch.
timeout 20 kubectl get ro demo -w -o jsonpath='{.status.phase}/{.status.message}{"\n"}' \
    >"$TEST_DIR/phases" 2>/dev/null &
WPID=$!
KROLL_PIDS="$KROLL_PIDS $WPID"
wait_for 60 "abort: canary 0, stable 5" -- settled
out=$(kr status demo 2>&1); rc=$?
expect_eq "$rc/$(echo "$out" | tail -n 1)" \
    "1/Error: The rollout is in a degraded state with message: ${msg#Degraded/}" \
    "42: status on the aborted rollout exits 1"
wait "$WPID" 2>/dev/null
expect_eq "$(sort -u "$TEST_DIR/phases" | grep -c .)/$(sort -u "$TEST_DIR/phases" | head -n 1)" \
    "1/$msg" "33: every phase written after the abort (20 s watched) is $msg"
expect_eq "$(idx)/$(ro_field demo .status.abort)" "0/true" "32: index 0, abort kept"
finish
