#!/bin/bash
# t1320: the argoproj.io Rollout, basic canary (progressive-delivery.md checklist 1-2, 4-6,
# 8-16, 18, 20-22, 32, 34, 36): initial deploy skips the steps, setWeight 20 with 5 replicas
# gives canary 1 / stable 4, pause {} holds until promote (the plugin's status patch), a timed
# pause ends by itself, completion moves stableRS and the stable Service; abort returns to
# stable (Degraded, canary Service back on the stable hash), retry runs the steps again, and
# a template reverted to stable skips the steps. Every control is a plain kubectl patch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

dl_images
kroll_start

svc_apply demo-stable demo
svc_apply demo-canary demo
STRAT='    canary:
      canaryService: demo-canary
      stableService: demo-stable
      steps: [{setWeight: 20}, {pause: {}}, {setWeight: 50}, {pause: {duration: 5s}}]'
ro_manifest demo 5 test/app:1 "$STRAT" | kubectl apply -f - >/dev/null

# --- API ---
expect_match "$(kubectl api-resources --api-group=argoproj.io --no-headers)" \
    "^rollouts +ro +argoproj.io/v1alpha1 +true +Rollout" "1: discovery lists rollouts (ro)"
expect_eq "$(kubectl get all -o name | grep -c rollout)" "0" "1: no categories: get all lists no Rollout"
expect_match "$(kubectl api-resources --api-group=argoproj.io --no-headers)" \
    "experiments +exp +argoproj.io/v1alpha1 +true +Experiment" "7: experiments are served"
expect_eq "$(kubectl get exp 2>&1)" "No resources found in default namespace." "7: experiments list (empty)"
expect_eq "$(api_curl '/apis/argoproj.io/v1alpha1/experiments?watch=1&timeoutSeconds=1' -o /dev/null -w '%{http_code}')" \
    "200" "7: experiments watch"
wait_for 60 "8-12: initial deploy Healthy" -- ro_is demo Healthy/
h1=$(ro_field demo .status.currentPodHash)
expect_match "$(kubectl get ro demo)" "^NAME +DESIRED +CURRENT +UP-TO-DATE +AVAILABLE +AGE
demo +5 +5 +5 +5 +[0-9]+s" "2: kubectl get ro columns"
expect_eq "$(ro_field demo .status.observedGeneration)" "$(ro_field demo .metadata.generation)" \
    "4: observedGeneration is the generation, as a string"
expect_eq "$(kubectl get ro demo -o json | python3 -c 'import json,sys; print(type(json.load(sys.stdin)["status"]["observedGeneration"]).__name__)')" \
    "str" "4: observedGeneration is a JSON string"
expect_eq "$(rs_names demo)" "demo-$h1" "8: one RS demo-<hash>"
expect_eq "$(rs_field "demo-$h1" '.metadata.ownerReferences[0].kind')/$(rs_field "demo-$h1" '.metadata.annotations.rollout\.argoproj\.io/revision')/$(ro_field demo '.metadata.annotations.rollout\.argoproj\.io/revision')" \
    "Rollout/1/1" "8: RS owned by the Rollout, revision 1 on RS and Rollout"
expect_eq "$(rs_field "demo-$h1" '.spec.selector.matchLabels.rollouts-pod-template-hash')" "$h1" "8: RS selector has rollouts-pod-template-hash"
expect_eq "$(ro_field demo .status.stableRS)/$(ro_field demo .status.currentStepIndex)" "$h1/4" \
    "9: stableRS = currentPodHash, currentStepIndex 4 (initial deploy skips steps)"
pods_h=$(kubectl get pods -l app=demo -o jsonpath='{range .items[*]}{.metadata.labels.rollouts-pod-template-hash}{.metadata.labels.pod-template-hash}{"\n"}{end}' | sort -u)
expect_eq "$pods_h" "$h1" "10: pods carry rollouts-pod-template-hash, not pod-template-hash"
expect_eq "$(svc_hash demo-stable)/$(svc_hash demo-canary)" "$h1/$h1" "11: both Services select the hash"
expect_eq "$(kubectl get svc demo-stable -o jsonpath='{.metadata.annotations.argo-rollouts\.argoproj\.io/managed-by-rollouts}')" \
    "demo" "11: managed-by annotation"
expect_eq "$(ro_cond demo Available status)/$(ro_cond demo Completed reason)/$(ro_cond demo Healthy reason)/$(ro_cond demo Progressing reason)" \
    "True/RolloutCompleted/RolloutHealthy/NewReplicaSetAvailable" "12: conditions"
expect_eq "$(ro_cond demo Progressing message)" "ReplicaSet \"demo-$h1\" has successfully progressed." "12: Progressing message"
expect_match "$(events_for demo)" "RolloutCompleted Rollout completed update to revision 1 \\($h1\\): Initial deploy" "13: Initial deploy event"
expect_eq "$(ro_field demo .status.HPAReplicas)/$(ro_field demo .status.selector)" "5/app=demo" "22: HPAReplicas and selector"
expect_eq "$(kubectl get --raw /apis/argoproj.io/v1alpha1/namespaces/default/rollouts/demo/scale | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["kind"], d["status"]["replicas"], d["status"]["selector"])')" \
    "Scale 5 app=demo" "5: scale subresource reads HPAReplicas and status.selector"

# 6: the main resource ignores status, /status ignores spec.
kubectl patch ro demo --type merge -p '{"status":{"phase":"Bogus"}}' >/dev/null
kubectl patch ro demo --subresource=status --type merge -p '{"spec":{"replicas":9}}' >/dev/null
expect_eq "$(ro_field demo .status.phase)/$(ro_field demo .spec.replicas)" "Healthy/5" "6: status/spec split"

# --- canary update ---
expect_eq "$(kr set image demo app=test/app:2)" 'rollout "demo" image updated' "14: kroll rollouts set image"
wait_for 60 "16: paused at the first pause" -- ro_is demo Paused/CanaryPauseStep
h2=$(ro_field demo .status.currentPodHash)
expect_eq "$(rs_spec_avail "demo-$h2")/$(rs_spec_avail "demo-$h1")" "1/1/4/4" "15: setWeight 20 -> canary 1, stable 4"
expect_eq "$(ro_field demo .status.currentStepIndex)/$(ro_field demo .status.pauseConditions[0].reason)/$(ro_field demo .status.controllerPause)" \
    "1/CanaryPauseStep/true" "16: index 1, pauseConditions, controllerPause"
expect_eq "$(ro_cond demo Paused reason)/$(ro_cond demo Progressing status)/$(ro_cond demo Progressing reason)" \
    "RolloutPaused/Unknown/RolloutPaused" "16: Paused and Progressing Unknown conditions"
expect_eq "$(svc_hash demo-stable)/$(svc_hash demo-canary)" "$h1/$h2" "canary Service on the new hash, stable on the old"
expect_eq "$(rs_field "demo-$h2" '.metadata.annotations.rollout\.argoproj\.io/revision')" "2" "14: revision 2"
sleep 3
expect_eq "$(ro_phase demo)" "Paused/CanaryPauseStep" "17: pause {} holds"
out=$(kr status demo --watch=false); rc=$?
expect_eq "$rc/$out" "0/Paused - CanaryPauseStep" "42: status --watch=false on a pause"
out=$(kr status demo --timeout 1s 2>&1); rc=$?
expect_eq "$rc/$(echo "$out" | tail -n 1)" "1/Error: Rollout status watch exceeded timeout" "42: status --timeout while paused"
out=$(kr get rollout demo)
say "kroll rollouts get rollout demo:"; echo "$out"
expect_match "$out" "Step: +1/4" "43: get shows Step 1/4"
expect_match "$out" "SetWeight: +20" "43: SetWeight 20"
expect_match "$out" "ActualWeight: +20" "43: ActualWeight 20 (1 of 5 available)"
expect_match "$out" "demo-$h2 +ReplicaSet +✔ Healthy .*canary" "43: canary RS tagged"
expect_match "$out" "demo-$h1 +ReplicaSet +✔ Healthy .*stable" "43: stable RS tagged"
expect_match "$out" "# revision:2" "43: revisions grouped"
expect_match "$(kr list rollouts)" "demo +Canary +Paused +1/4 +20 +5/5 +5 +1 +5" "44: list rollouts row"

# 43: `get --watch` follows the Rollout through the client's informers (list + watch over HTTPS):
# the tree is redrawn on each change, here from the pause at step 1 to the end of the steps.
"$KROLL_BIN" rollouts --data-dir "$KROLL_DATA" get rollout demo --watch --timeout-seconds 120 \
    >"$TEST_DIR/watch.out" 2>&1 &
WATCH_PID=$!
KROLL_PIDS="$KROLL_PIDS $WATCH_PID"
drew() { grep -q "Step: *1/4" "$TEST_DIR/watch.out"; }
wait_for 15 "43: get --watch draws the tree" -- drew
# 18: promote as the plugin does it (status merge patch).
ro_status_patch demo '{"status":{"pauseConditions":null}}'
at_step3() { [ "$(ro_field demo .status.currentStepIndex)" = 3 ]; }
wait_for 60 "18-19: promote runs setWeight 50 and reaches the timed pause" -- at_step3
expect_eq "$(rs_spec_avail "demo-$h2")/$(rs_spec_avail "demo-$h1")" "3/3/3/3" "19: setWeight 50 -> canary 3, stable 3"
t0=$(date +%s)
wait_for 60 "20-21: timed pause ends by itself, Healthy" -- ro_is demo Healthy/
el=$(( $(date +%s) - t0 ))
[ "$el" -ge 3 ] && pass "20: the 5 s pause held ($el s incl. scaling)" || fail "20: pause ended after $el s"
expect_eq "$(ro_field demo .status.stableRS)/$(svc_hash demo-stable)/$(rs_field "demo-$h1" .spec.replicas)" \
    "$h2/$h2/0" "21: stableRS and stable Service on the new hash, old RS at 0"
expect_match "$(events_for demo)" "RolloutCompleted Rollout completed update to revision 2 \\($h2\\): Completed all canary steps" "21: completion event"
expect_match "$(events_for demo)" "RolloutStepCompleted Rollout step 1/4 completed \\(setWeight: 20\\)" "step event"
redrew() { grep -q "Step: *4/4" "$TEST_DIR/watch.out" && grep -q "Status: *✔ Healthy" "$TEST_DIR/watch.out"; }
wait_for 15 "43: get --watch redrew the tree at the end of the steps (Healthy, Step 4/4)" -- redrew
kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null

# --- abort, retry ---
ro_image demo test/app:3
wait_for 60 "v3 paused at step 1" -- ro_is demo Paused/CanaryPauseStep
h3=$(ro_field demo .status.currentPodHash)
expect_eq "$(kr abort demo)" "rollout 'demo' aborted" "32: kroll rollouts abort"
aborted() { [ "$(ro_phase demo)" = "Degraded/RolloutAborted: Rollout aborted update to revision 3" ] &&
    [ "$(rs_spec_avail "demo-$h3")" = "0/" ] && [ "$(rs_spec_avail "demo-$h2")" = "5/5" ]; }
wait_for 60 "32: abort: canary 0, stable 5, Degraded RolloutAborted" -- aborted
expect_eq "$(ro_field demo .status.currentStepIndex)/$(ro_field demo .status.pauseConditions)/$(svc_hash demo-canary)" \
    "0//$h2" "32: index 0, no pause conditions, canary Service back on stable"
expect_match "$(ro_field demo .status.abortedAt)" "^20" "32: abortedAt set"
ro_status_patch demo '{"status":{"abort":false}}'
wait_for 60 "34: retry runs the steps again and pauses at step 1" -- ro_is demo Paused/CanaryPauseStep
expect_match "$(events_for demo)" "RolloutAborted Rollout aborted update to revision 3" "abort event"

# --- undo to stable mid-update skips the steps ---
expect_eq "$(kr undo demo)" "rollout 'demo' undo" "36: kroll rollouts undo"
wait_for 60 "36: template back to stable: Healthy" -- ro_is demo Healthy/
expect_eq "$(ro_field demo .status.currentStepIndex)/$(rs_field "demo-$h3" .spec.replicas)" "4/0" "36: index 4, canary RS at 0"
expect_match "$(events_for demo)" "SkipSteps Rollback to stable ReplicaSets" "36: SkipSteps event"
out=$(kr status demo); rc=$?
expect_eq "$rc/$out" "0/Healthy" "42: status on Healthy exits 0"

# --- undo to an older revision runs the steps (37); promote --full (31); absent revision (39) ---
out=$(kr undo demo --to-revision=9 2>&1); rc=$?
expect_eq "$rc/$out" "1/Error: unable to find specified revision 9 in history" "39: absent revision"
expect_eq "$(kr undo demo --to-revision=1)" "rollout 'demo' undo" "37: undo to revision 1"
wait_for 60 "37: the v1 RS is reused and the steps run (pause at step 1)" -- ro_is demo Paused/CanaryPauseStep
expect_eq "$(ro_field demo .status.currentPodHash)/$(rs_field "demo-$h1" '.metadata.annotations.rollout\.argoproj\.io/revision')" \
    "$h1/5" "37: reused RS gets the next revision (5: undo to stable made v2 revision 4)"
expect_eq "$(kr promote demo --full)" "rollout 'demo' fully promoted" "31: promote --full"
wait_for 60 "31: full promotion completes" -- ro_is demo Healthy/
expect_eq "$(ro_field demo .status.stableRS)/$(ro_field demo .status.promoteFull)" "$h1/" "31: stableRS new, promoteFull reset"
expect_match "$(events_for demo)" "Full promotion requested" "31: event cause"

# --- abort, then status exits 1 with the message ---
ro_image demo test/app:3
wait_for 60 "v3 again paused" -- ro_is demo Paused/CanaryPauseStep
ro_status_patch demo '{"status":{"abort":true}}'
wait_for 30 "abort by plain kubectl patch" -- ro_is demo "Degraded/RolloutAborted: Rollout aborted update to revision 6"
# Every status written from here on, while the ReplicaSets settle, must stay Degraded (Argo keeps
# an aborted rollout so until retry, promote --full or a new template); the fields that decide
# the phase are recorded, so a write that leaves Degraded says why.
timeout 15 kubectl get ro demo -w -o jsonpath='{.status.phase}/{.status.message} abort={.status.abort} cur={.status.currentPodHash} stable={.status.stableRS} cc={.status.collisionCount} full={.status.promoteFull} gen={.metadata.generation}/{.status.observedGeneration}{"\n"}' \
    >"$TEST_DIR/abort-phases" 2>/dev/null &
APID=$!
KROLL_PIDS="$KROLL_PIDS $APID"
out=$(kr status demo 2>&1); rc=$?
expect_eq "$rc/$(echo "$out" | tail -n 1)" "1/Error: The rollout is in a degraded state with message: RolloutAborted: Rollout aborted update to revision 6" "42: status on Degraded exits 1"
wait "$APID" 2>/dev/null
left=$(grep -v "^Degraded/RolloutAborted: Rollout aborted update to revision 6 " "$TEST_DIR/abort-phases")
expect_eq "$left" "" "33: no status written in the 15 s after the abort leaves Degraded ($(wc -l <"$TEST_DIR/abort-phases") seen)"
expect_eq "$(kr promote demo)" "rollout 'demo' promoted" "33: promote on an aborted rollout"
sleep 2
expect_match "$(ro_phase demo)" "^Degraded/RolloutAborted" "33: a plain promote does not leave Degraded"
expect_eq "$(kr promote demo --full)" "rollout 'demo' fully promoted" "35: promote --full on an aborted rollout"
wait_for 60 "35: clears the abort and completes" -- ro_is demo Healthy/

# --- 40: restart replaces every pod, max(maxUnavailable, 1) at a time ---
# restartAt has whole seconds: a pod created in the same second is not "before" it (as in Argo).
sleep 1.1
before=$(kubectl get pods -l app=demo -o jsonpath='{.items[*].metadata.name}')
sleep 1.1
expect_eq "$(kr restart demo)" "rollout 'demo' restarts in 0s" "40: kroll rollouts restart"
restarted() { [ -n "$(ro_field demo .status.restartedAt)" ] &&
    [ "$(ro_field demo .status.restartedAt)" = "$(ro_field demo .spec.restartAt)" ] && ro_is demo Healthy/; }
wait_for 90 "40: restartedAt = restartAt, Healthy" -- restarted
after=$(kubectl get pods -l app=demo -o jsonpath='{.items[*].metadata.name}')
left=0; for p in $before; do case " $after " in *" $p "*) left=$((left + 1));; esac; done
expect_eq "$left" "0" "40: no pod from before the restart is left"

# --- 45: kubectl wait on the phase; 28-29: a manual pause, and promote resuming it ---
expect_eq "$(kubectl wait --for=jsonpath='{.status.phase}'=Healthy rollout/demo --timeout=60s)" \
    "rollout.argoproj.io/demo condition met" "45: kubectl wait --for=jsonpath phase=Healthy"
expect_eq "$(kr pause demo)" "rollout 'demo' paused" "28: kroll rollouts pause"
expect_eq "$(ro_field demo .spec.paused)" "true" "28: spec.paused set"
wait_for 30 "28: phase Paused, manually paused" -- ro_is demo "Paused/manually paused"
expect_eq "$(kr promote demo)" "rollout 'demo' promoted" "29: promote a manually paused rollout"
expect_eq "$(ro_field demo .spec.paused)" "false" "29: promote sent spec.paused false"
wait_for 30 "29: resumed, Healthy" -- ro_is demo Healthy/

# --- 41: progressDeadlineSeconds with progressDeadlineAbort on a never-ready canary ---
ro_manifest dl 1 test/app:1 '    canary: {steps: [{setWeight: 50}, {pause: {}}]}' |
    sed 's/^  replicas: 1$/  replicas: 1\n  progressDeadlineSeconds: 5\n  progressDeadlineAbort: true/' |
    kubectl apply -f - >/dev/null
wait_for 60 "dl: initial deploy Healthy" -- ro_is dl Healthy/
ro_image dl test/app:bad
hb=""
dl_aborted() { hb=$(ro_field dl .status.currentPodHash); ro_is dl "Degraded/RolloutAborted: Rollout aborted update to revision 2: ReplicaSet \"dl-$hb\" has timed out progressing."; }
wait_for 60 "41: deadline exceeded, progressDeadlineAbort aborts with the cause" -- dl_aborted
expect_match "$(events_for dl)" "RolloutProgressDeadlineExceeded ReplicaSet \"dl-$hb\" has timed out progressing." "41: deadline event"
gone() { [ "$(rs_field "dl-$hb" .spec.replicas)" = 0 ]; }
wait_for 30 "41: the aborted canary is scaled to 0" -- gone

# --- InvalidSpec found at run time: a missing Service, an analysis step naming a missing
# AnalysisTemplate; fixing the spec clears it (26); editing steps mid-update restarts them (27) ---
ro_manifest inv 1 test/app:1 '    canary: {canaryService: inv-canary, steps: [{analysis: {templates: [{templateName: t}]}}]}' |
    kubectl apply -f - >/dev/null
wait_for 30 "a missing Service is InvalidSpec (Degraded)" -- ro_is inv "Degraded/InvalidSpec: The Rollout \"inv\" is invalid: spec.strategy.canary.canaryService: Invalid value: \"inv-canary\": service \"inv-canary\" not found"
svc_apply inv-canary inv
wait_for 60 "26: creating the Service clears InvalidSpec (Healthy)" -- ro_is inv Healthy/
ro_image inv test/app:2
wait_for 30 "an analysis step with a missing template is InvalidSpec, not skipped" -- ro_is inv "Degraded/InvalidSpec: The Rollout \"inv\" is invalid: spec.strategy.canary.steps[0].analysis.templates[0]: AnalysisTemplate.argoproj.io \"t\" not found"
sh1=$(ro_field inv .status.currentStepHash)
kubectl patch ro inv --type merge -p '{"spec":{"strategy":{"canary":{"steps":[{"setWeight":50},{"pause":{}}]}}}}' >/dev/null
wait_for 60 "26/27: new steps run from 0 and pause at step 1" -- ro_is inv Paused/CanaryPauseStep
expect_eq "$(ro_field inv .status.currentStepIndex)/$( [ "$(ro_field inv .status.currentStepHash)" != "$sh1" ] && echo changed)" \
    "1/changed" "27: currentStepHash changed, index from 0 to 1"

# --- bad specs are refused with field causes ---
out=$(ro_manifest bad 1 test/app:1 '    canary: {maxSurge: 0, maxUnavailable: 0, steps: [{setWeight: 120}, {experiment: {}}]}' | kubectl apply -f - 2>&1)
expect_match "$out" "spec.strategy.canary.maxUnavailable: Invalid value: 0: MaxSurge and MaxUnavailable both can not be zero" "24: both zero refused"
expect_match "$out" "spec.strategy.canary.steps\\[0\\].setWeight: Invalid value: 120: SetWeight needs to be between 0 and 100" "25: weight > 100 refused"
expect_match "$out" "spec.strategy.canary.steps\\[1\\].experiment: Forbidden: experiment steps are not supported by kroll" "26: experiment step refused by name"
finish
