#!/bin/bash
# t0354: Recreate never overlaps old and new pods, terminating ones included (item 19, e2e
# scenario 3); pause/resume: no rollout while paused, scaling applied, one revision on resume
# (20), the DeploymentPaused/Resumed conditions and no deadline while paused (25); rollout
# restart (32).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start

# --- 19: Recreate; old pods take 2 s to exit after SIGTERM ---
dep_manifest rc 3 test/app:1 "  strategy: {type: Recreate}" |
    sed 's/^        image: test\/app:1$/        image: test\/app:1\n        env: [{name: TERM_DELAY, value: "2"}]/' |
    kubectl apply -f - >/dev/null
wait_for 30 "rc: initial rollout complete" -- dep_complete rc 3
oldrc=$(rs_names rc)
trace_start rc
kubectl set image deploy/rc app=test/app:2 >/dev/null
wait_for 40 "scenario 3: Recreate rollout completes" -- dep_complete rc 3
trace_stop
newrc=$(rs_names rc | grep -v "^$oldrc\$")
# A trace line with a new pod alive must have no old pod alive and none terminating.
overlap=$(awk -v n="$newrc-" -v o="$oldrc-" 'index($7, n) && (index($7, o) || $4 > 0)' "$TEST_DIR/trace.rc")
expect_eq "$overlap" "" "item 19: no new pod while any old pod (incl. terminating) exists"
expect_match "$(awk '$4 > 0' "$TEST_DIR/trace.rc" | head -n 1)" "." "item 19: old pods were seen terminating"
expect_eq "$(events_for rc | tail -n 2)" "ScalingReplicaSet Scaled down replica set $oldrc to 0 from 3
ScalingReplicaSet Scaled up replica set $newrc to 3" "item 19: Recreate events"

# --- 20 / 25: pause ---
dep_apply pz 2 test/app:1 "  progressDeadlineSeconds: 5"
wait_for 30 "pz: initial rollout complete" -- dep_complete pz 2
rs1=$(rs_names pz)
kubectl rollout pause deployment pz >/dev/null
paused_cond() { [ "$(dep_cond pz Progressing status)/$(dep_cond pz Progressing reason)/$(dep_cond pz Progressing message)" = "Unknown/DeploymentPaused/Deployment is paused" ]; }
wait_for 5 "item 25: Progressing Unknown/DeploymentPaused 'Deployment is paused'" -- paused_cond
kubectl set image deploy/pz app=test/app:bad >/dev/null
kubectl set env deploy/pz COLOR=blue >/dev/null
kubectl scale deploy/pz --replicas=3 >/dev/null
sleep 2
expect_eq "$(rs_names pz)" "$rs1" "item 20: template edits while paused create no RS"
expect_eq "$(rs_field "$rs1" .spec.replicas)" "3" "item 20: replicas change applied while paused"
expect_eq "$(dep_field pz .status.observedGeneration)" "$(dep_field pz .metadata.generation)" \
    "item 20: observedGeneration advances while paused"
out=$(kubectl rollout status deploy/pz --timeout=2s 2>&1)
expect_match "$out" 'Waiting for deployment "pz" rollout to finish: 0 out of 3 new replicas have been updated...' \
    "item 20: rollout status waits on 0 of 3 updated while paused"
out=$(kubectl rollout restart deployment pz 2>&1); rc=$?
expect_eq "$rc/$out" "1/error: deployments.apps \"pz\" can't restart paused deployment (run rollout resume first)" \
    "item 32: restart of a paused deployment fails"
sleep 5
expect_eq "$(dep_cond pz Progressing reason)" "DeploymentPaused" "item 25: no ProgressDeadlineExceeded while paused (8 s > 5 s deadline)"
kubectl rollout resume deployment pz >/dev/null
two() { [ "$(rs_names pz | wc -l)" = 2 ]; }
wait_for 10 "item 20: resume creates the new RS" -- two
sleep 1
expect_eq "$(rs_names pz | wc -l)" "2" "item 20: exactly one new RS for all edits"
rs2=$(rs_names pz | grep -v "^$rs1\$")
expect_eq "$(rs_field "$rs2" '.spec.template.spec.containers[0].image')/$(rs_field "$rs2" '.spec.template.spec.containers[0].env[?(@.name=="COLOR")].value')" \
    "test/app:bad/blue" "item 20: the new revision carries both edits"
expect_eq "$(rs_field "$rs2" '.metadata.annotations.deployment\.kubernetes\.io/revision')" "2" "item 20: one new revision (2)"
kubectl delete deploy pz >/dev/null

# Proportional scaling of a paused, half-done rollout (k8s-semantics 16.5): held at old 4 / new 1
# (max-replicas 5), scaling to 8 gives round(4*9/5)=7 / round(1*9/5)=2, then to 3 gives
# round(7*4/9)=3 / round(2*4/9)=1.
dep_apply pp 4 test/app:1 "  minReadySeconds: 3" "  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}"
wait_for 30 "pp: initial rollout complete" -- dep_complete pp 4
ppold=$(rs_names pp)
kubectl set image deploy/pp app=test/app:2 >/dev/null
kubectl rollout pause deployment pp >/dev/null
sleep 4
ppnew=$(rs_names pp | grep -v "^$ppold\$")
expect_eq "$(rs_field "$ppold" .spec.replicas)/$(rs_field "$ppnew" .spec.replicas)" "4/1" "pp: paused at old 4 / new 1"
kubectl scale deploy/pp --replicas=8 >/dev/null
pp_is() { [ "$(rs_field "$ppold" .spec.replicas)/$(rs_field "$ppnew" .spec.replicas)" = "$1" ]; }
wait_for 10 "proportional scale-up while paused: 7/2" -- pp_is 7/2
expect_eq "$(events_for pp | tail -n 2 | sort)" "$(printf '%s\n' \
    "ScalingReplicaSet Scaled up replica set $ppold to 7 from 4" \
    "ScalingReplicaSet Scaled up replica set $ppnew to 2 from 1" | sort)" "proportional scale-up events"
kubectl scale deploy/pp --replicas=3 >/dev/null
wait_for 10 "proportional scale-down while paused: 3/1" -- pp_is 3/1
kubectl rollout resume deployment pp >/dev/null
wait_for 40 "pp: resumed rollout completes at 3" -- dep_complete pp 3
kubectl delete deploy pp >/dev/null

# 25: resume without edits shows DeploymentResumed.
dep_apply pr 1 test/app:1 "  progressDeadlineSeconds: 5"
wait_for 30 "pr: complete" -- dep_complete pr 1
kubectl rollout pause deployment pr >/dev/null
pr_paused() { [ "$(dep_cond pr Progressing reason)" = DeploymentPaused ]; }
wait_for 5 "pr paused" -- pr_paused
# The resume pass writes DeploymentResumed and then, the rollout being complete, at once
# NewReplicaSetAvailable (as upstream): watch the Deployment to see both writes.
trace_start pr
kubectl rollout resume deployment pr >/dev/null
rsa() { [ "$(dep_cond pr Progressing reason)" = NewReplicaSetAvailable ]; }
wait_for 5 "pr: back to NewReplicaSetAvailable" -- rsa
trace_stop
seen=$(grep -o '"type":"Progressing","status":"[A-Za-z]*"[^}]*"reason":"[A-Za-z]*","message":"[^"]*"' \
    "$TEST_DIR/watch.pr" | sed 's/"lastUpdateTime":"[^"]*",//; s/"lastTransitionTime":"[^"]*",//' | uniq)
expect_match "$seen" '"status":"Unknown","reason":"DeploymentResumed","message":"Deployment is resumed"' \
    "item 25: resume writes Unknown/DeploymentResumed 'Deployment is resumed'"

# --- 32: rollout restart ---
rsr=$(rs_names pr)
expect_eq "$(kubectl rollout restart deployment pr)" "deployment.apps/pr restarted" "item 32: restart output"
expect_match "$(dep_field pr '.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt')" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "item 32: restartedAt annotation on the template"
wait_for 30 "item 32: restart rolls out a new RS" -- dep_complete pr 1
expect_eq "$(rs_names pr | wc -l)/$(rs_field "$rsr" .spec.replicas)" "2/0" "item 32: new RS, old scaled to 0"
finish
