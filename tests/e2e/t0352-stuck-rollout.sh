#!/bin/bash
# t0352: R=10 rollouts to an image that never becomes ready: 3 new / old 8 before any new pod is
# available (item 9), settling at old=8 new=5 (10), proportional scaling to 30 giving 20/13 (11,
# e2e scenario 9), the progress deadline (24), unavailableReplicas (26), and rollout status'
# failure exits (28).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start

# item 9 with the default 25%/25% (surge 3, unavailable 2 at R=10).
dep_apply p 10 test/app:1
wait_for 60 "p: initial rollout complete" -- dep_complete p 10
oldp=$(rs_names p)
kubectl set image deploy/p app=test/app:bad >/dev/null
settled_p() { [ "$(kubectl get rs -l app=p -o jsonpath='{range .items[*]}{.spec.replicas}{" "}{end}' | tr ' ' '\n' | sort -n | xargs)" = "5 8" ]; }
wait_for 30 "p: settles at 8/5" -- settled_p
newp=$(rs_names p | grep -v "^$oldp\$")
expect_eq "$(events_for p | sed -n '2,4p')" "ScalingReplicaSet Scaled up replica set $newp to 3
ScalingReplicaSet Scaled down replica set $oldp to 8 from 10
ScalingReplicaSet Scaled up replica set $newp to 5 from 3" "item 9: new RS created with 3, old scaled to 8, new to 5"
expect_eq "$(rs_field "$newp" .status.availableReplicas)" "" "item 9: no new pod is available"
kubectl delete deploy p >/dev/null

# items 10, 11, 24, 26, 28 with maxSurge 3 / maxUnavailable 2 as integers (the upstream test).
dep_apply q 10 test/app:1 "  progressDeadlineSeconds: 10" \
    "  strategy: {rollingUpdate: {maxSurge: 3, maxUnavailable: 2}}"
wait_for 60 "q: initial rollout complete" -- dep_complete q 10
oldq=$(rs_names q)
kubectl set image deploy/q app=test/app:bad >/dev/null
t_set=$(date +%s)
out=$(kubectl rollout status deploy/q --timeout=2s 2>&1); rc=$?
expect_eq "$rc" "1" "item 28: rollout status --timeout exits 1"
expect_eq "$(echo "$out" | tail -n 1)" "error: timed out waiting for the condition" "item 28: --timeout message"
settled_q() { [ "$(rs_field "$oldq" .spec.replicas)" = 8 ] && [ "$(kubectl get rs -l app=q -o jsonpath='{range .items[*]}{.spec.replicas}{" "}{end}' | tr ' ' '\n' | sort -n | xargs)" = "5 8" ]; }
wait_for 30 "item 10: settles at old=8 new=5" -- settled_q
newq=$(rs_names q | grep -v "^$oldq\$")
expect_eq "$(kubectl get deploy q -o jsonpath='{.status.replicas}/{.status.updatedReplicas}/{.status.availableReplicas}/{.status.unavailableReplicas}')" \
    "13/5/8/5" "item 26: replicas 13, updated 5, available 8, unavailable = 13 - 8"
expect_eq "$(dep_cond q Available status)/$(dep_cond q Available reason)" "True/MinimumReplicasAvailable" \
    "8 available >= R - 2: Available stays True"
# 24: the deadline, counted from the last progress.
exceeded() { [ "$(dep_cond q Progressing reason)" = ProgressDeadlineExceeded ]; }
wait_for 30 "item 24: Progressing becomes ProgressDeadlineExceeded" -- exceeded
t_ex=$(date +%s)
expect_match "$((t_ex - t_set))" '^(1[0-9])$' "item 24: deadline hit 10-19 s after the last progress ($((t_ex - t_set)) s)"
expect_eq "$(dep_cond q Progressing status)/$(dep_cond q Progressing message)" \
    "False/ReplicaSet \"$newq\" has timed out progressing." "item 24: condition status and message"
out=$(kubectl rollout status deploy/q 2>&1); rc=$?
expect_eq "$rc/$out" "1/error: deployment \"q\" exceeded its progress deadline" "item 28: exceeded its progress deadline, rc 1"
sleep 3
expect_eq "$(rs_field "$oldq" .spec.replicas)/$(rs_field "$newq" .spec.replicas)" "8/5" \
    "items 10, 24: sizes unchanged after the deadline (no rollback)"
expect_eq "$(dep_cond q Progressing reason)" "ProgressDeadlineExceeded" "item 24: condition stays"

# 11 / scenario 9: proportional scaling.
expect_eq "$(kubectl scale deploy/q --replicas=30)" "deployment.apps/q scaled" "kubectl scale output"
scaled() { [ "$(rs_field "$oldq" .spec.replicas)/$(rs_field "$newq" .spec.replicas)" = "20/13" ]; }
wait_for 20 "item 11: scaling to 30 gives old=20 new=13" -- scaled
expect_eq "$(rs_field "$oldq" '.metadata.annotations.deployment\.kubernetes\.io/max-replicas')/$(rs_field "$newq" '.metadata.annotations.deployment\.kubernetes\.io/desired-replicas')" \
    "33/30" "item 11: max-replicas and desired-replicas annotations refreshed"
expect_eq "$(events_for q | tail -n 2 | sort)" "$(printf '%s\n' \
    "ScalingReplicaSet Scaled up replica set $newq to 13 from 5" \
    "ScalingReplicaSet Scaled up replica set $oldq to 20 from 8" | sort)" "item 11: two scale-up events"
all_pods() { [ "$(kubectl get pods -l app=q --no-headers | grep -vc Terminating)" = 33 ]; }
wait_for 30 "33 pods exist" -- all_pods
sleep 2
expect_eq "$(rs_field "$oldq" .spec.replicas)/$(rs_field "$newq" .spec.replicas)" "20/13" "stays at 20/13"
finish
