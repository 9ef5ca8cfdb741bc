#!/bin/bash
# t0353: revisions, change-cause, rollout history/undo/undo --to-revision with their exact
# outputs (items 16, 29, 30, 31, 33), history cleanup (18), rollover of a stuck rollout adopting a
# pre-existing RS (15, e2e scenario 5).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start

hist() { kubectl rollout history deployment h | sed 's/ *$//'; }
rev_of() { rs_field "$1" '.metadata.annotations.deployment\.kubernetes\.io/revision'; }

dep_apply h 2 test/app:1
wait_for 30 "rev 1 complete" -- dep_complete h 2
rs1=$(rs_names h)
expect_eq "$(hist)" "deployment.apps/h
REVISION  CHANGE-CAUSE
1         <none>" "history with one revision"
out=$(kubectl rollout undo deployment h 2>&1); rc=$?
expect_eq "$rc/$out" "1/error: no rollout history found for deployment \"h\"" "undo with one revision fails"
kubectl annotate deploy h kubernetes.io/change-cause="image 1" >/dev/null
settle_ann() { [ "$(rs_field "$rs1" '.metadata.annotations.kubernetes\.io/change-cause')" = "image 1" ]; }
wait_for 10 "item 33: change-cause copied to the current RS" -- settle_ann
expect_eq "$(hist | sed -n 3p)" "1         image 1" "item 33: change-cause shown for the current revision"

kubectl set image deploy/h app=test/app:2 >/dev/null
wait_for 30 "rev 2 complete" -- dep_complete h 2
rs2=$(rs_names h | grep -v "^$rs1\$")
kubectl annotate deploy h kubernetes.io/change-cause="image 2" --overwrite >/dev/null
kubectl set image deploy/h app=test/app:3 >/dev/null
wait_for 30 "rev 3 complete" -- dep_complete h 2
rs3=$(rs_names h | grep -v "^$rs1\$" | grep -v "^$rs2\$")
expect_eq "$(rev_of "$rs1")/$(rev_of "$rs2")/$(rev_of "$rs3")" "1/2/3" "RS revisions 1, 2, 3"
expect_eq "$(hist)" "deployment.apps/h
REVISION  CHANGE-CAUSE
1         image 1
2         image 2
3         image 2" "rollout history lists 1, 2, 3 with change-causes"
out=$(kubectl rollout history deployment h --revision=2)
expect_match "$(echo "$out" | head -n 1)" '^deployment.apps/h with revision #2$' "history --revision=2 header"
expect_match "$out" 'Image:[[:space:]]+test/app:2' "history --revision=2 shows the template"
uid2=$(rs_field "$rs2" .metadata.uid)

# 29 / 16: undo reuses the revision-2 RS as revision 4.
expect_eq "$(kubectl rollout undo deployment h)" "deployment.apps/h rolled back" "item 29: undo output"
wait_for 30 "rollback complete" -- dep_complete h 2
expect_eq "$(rs_names h | wc -l)" "3" "item 16: no new RS created by the rollback"
expect_eq "$(rs_field "$rs2" .metadata.uid)" "$uid2" "item 16: the revision-2 RS (same UID) is reused"
expect_eq "$(rev_of "$rs2")" "4" "item 29: reused RS has revision 4"
expect_eq "$(rs_field "$rs2" '.metadata.annotations.deployment\.kubernetes\.io/revision-history')" "2" \
    "item 29: revision-history 2"
expect_eq "$(dep_field h '.metadata.annotations.deployment\.kubernetes\.io/revision')" "4" "item 29: D revision 4"
expect_eq "$(dep_field h '.spec.template.spec.containers[0].image')" "test/app:2" "item 29: template back to image 2"
expect_eq "$(hist)" "deployment.apps/h
REVISION  CHANGE-CAUSE
1         image 1
3         image 2
4         image 2" "item 29: history shows 1, 3, 4"
out=$(kubectl rollout history deployment h --revision=2 2>&1); rc=$?
expect_eq "$rc/$out" "1/error: unable to find the specified revision" "revision 2 no longer exists"
# 30, 31
out=$(kubectl rollout undo deployment h --to-revision=9 2>&1); rc=$?
expect_eq "$rc/$out" "1/error: unable to find specified revision 9 in history" "item 30: absent revision"
out=$(kubectl rollout undo deployment h --to-revision=4 2>&1); rc=$?
expect_eq "$rc/$out" "0/deployment.apps/h skipped rollback (current template already matches revision 4)" \
    "item 31: skipped rollback"
expect_eq "$(kubectl rollout pause deployment h)" "deployment.apps/h paused" "rollout pause output"
out=$(kubectl rollout pause deployment h 2>&1); rc=$?
expect_eq "$rc/$out" "1/error: deployments.apps \"h\" is already paused" "pause twice fails"
out=$(kubectl rollout undo deployment h 2>&1); rc=$?
expect_eq "$rc/$out" "1/error: you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again" \
    "item 31: undo of a paused deployment fails"
expect_eq "$(kubectl rollout resume deployment h)" "deployment.apps/h resumed" "rollout resume output"
out=$(kubectl rollout resume deployment h 2>&1); rc=$?
expect_eq "$rc/$out" "1/error: deployments.apps \"h\" is not paused" "resume twice fails"
# undo --to-revision=1 renumbers revision 1 as 5.
expect_eq "$(kubectl rollout undo deployment h --to-revision=1)" "deployment.apps/h rolled back" "undo --to-revision=1"
wait_for 30 "rollback to 1 complete" -- dep_complete h 2
expect_eq "$(rev_of "$rs1")/$(dep_field h '.metadata.annotations.kubernetes\.io/change-cause')" "5/image 1" \
    "revision 1 became 5 and its change-cause came back onto the Deployment"

# 18: history cleanup keeps revisionHistoryLimit old RSs.
kubectl patch deploy h --type=merge -p '{"spec":{"revisionHistoryLimit":1}}' >/dev/null
kubectl set image deploy/h app=test/app:4 >/dev/null
wait_for 30 "rev 6 complete" -- dep_complete h 2
two_rs() { [ "$(rs_names h | wc -l)" = 2 ]; }
wait_for 10 "item 18: with revisionHistoryLimit 1 one old RS remains" -- two_rs
expect_eq "$(rs_names h | grep -c "^$rs1\$")" "1" "item 18: the most recent old RS (revision 5) is the one kept"
kubectl patch deploy h --type=merge -p '{"spec":{"revisionHistoryLimit":0}}' >/dev/null
kubectl set image deploy/h app=test/app:5 >/dev/null
wait_for 30 "rev 7 complete" -- dep_complete h 2
one_rs() { [ "$(rs_names h | wc -l)" = 1 ]; }
wait_for 10 "item 18: with revisionHistoryLimit 0 all old RSs are deleted" -- one_rs

# 15 / scenario 5: rollover. A bare RS is adopted; the Deployment gets stuck on a bad image
# (surge 1, unavailable 0, minReadySeconds 3), then is updated to a good image.
kubectl apply -f - >/dev/null <<'Y'
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: ro-controller, labels: {app: ro}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ro}}
  template:
    metadata: {labels: {app: ro}}
    spec:
      containers: [{name: app, image: test/app:1, readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}}]
Y
ro_ready() { [ "$(rs_field ro-controller .status.availableReplicas)" = 2 ]; }
wait_for 30 "bare RS ready" -- ro_ready
dep_apply ro 2 test/app:bad "  minReadySeconds: 3" "  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}"
stuck() { [ "$(kubectl get rs -l app=ro -o jsonpath='{range .items[*]}{.spec.replicas}{" "}{end}' | tr ' ' '\n' | sort -n | xargs)" = "1 2" ]; }
wait_for 20 "adopted and stuck at old 2 / new 1" -- stuck
expect_eq "$(rs_field ro-controller '.metadata.ownerReferences[0].name')" "ro" "bare RS adopted"
bad=$(rs_names ro | grep -v '^ro-controller$')
sleep 2
kubectl set image deploy/ro app=test/app:2 >/dev/null
wait_for 40 "item 15: rollover completes" -- dep_complete ro 2
good=$(rs_names ro | grep -v '^ro-controller$' | grep -v "^$bad\$")
expect_eq "$(rs_names ro | wc -l)" "3" "item 15: exactly one more RS"
expect_eq "$(rs_field ro-controller .spec.replicas)/$(rs_field "$bad" .spec.replicas)/$(rs_field "$good" .spec.replicas)" \
    "0/0/2" "item 15: original and stuck RS end at 0"
expect_eq "$(dep_field ro '.metadata.annotations.deployment\.kubernetes\.io/revision')" "2" "scenario 5: finishes at revision 2"
finish
