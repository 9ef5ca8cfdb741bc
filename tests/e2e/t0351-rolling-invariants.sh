#!/bin/bash
# t0351: rolling-update invariants recorded from watch streams over whole rollouts (items 7, 8,
# 12), the exact ScalingReplicaSet event sequence (17), the Progressing condition during and after
# a rollout (22, 23) and rollout status' messages on the way (28, first part).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start

# --- item 7: R=4, maxSurge=1, maxUnavailable=0 ---
dep_apply a 4 test/app:1 "  minReadySeconds: 1" "  progressDeadlineSeconds: 30" \
    "  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}"
wait_for 30 "a: initial rollout complete" -- dep_complete a 4
old=$(rs_names a)
trace_start a
# Progressing condition sampled during the rollout (item 23).
( while :; do
      kubectl get deploy a -o jsonpath='{range .status.conditions[?(@.type=="Progressing")]}{.reason} {.lastUpdateTime} {.lastTransitionTime}{"\n"}{end}'
      sleep 0.3
  done >>"$TEST_DIR/prog.a" 2>/dev/null ) &
PROG_PID=$!
KROLL_PIDS="$KROLL_PIDS $PROG_PID"
expect_eq "$(kubectl set image deploy/a app=test/app:2)" "deployment.apps/a image updated" "set image output"
kubectl rollout status deploy/a --timeout=60s >"$TEST_DIR/status.a" 2>&1 &
ST_PID=$!
wait_for 60 "a: rollout complete" -- dep_complete a 4
trace_stop
kill "$PROG_PID" 2>/dev/null; wait "$PROG_PID" 2>/dev/null
wait "$ST_PID"; st_rc=$?
new=$(rs_names a | grep -v "^$old\$")
expect_eq "$(trace_max a 1)" "5" "item 7: sum of RS spec never above R+surge=5"
expect_eq "$(trace_min a 2)" "4" "item 7: Deployment availableReplicas never below 4"
expect_eq "$(trace_min a 5)" "4" "item 7: sum of RS availableReplicas never below 4"
expect_eq "$(trace_max a 3)" "5" "item 7: never more than 5 non-terminating pods"
expect_eq "$(events_for a | grep -c 'replica set')" "9" "item 17: 1 creation + 8 rollout events"
expect_eq "$(events_for a | tail -n 8)" "ScalingReplicaSet Scaled up replica set $new to 1
ScalingReplicaSet Scaled down replica set $old to 3 from 4
ScalingReplicaSet Scaled up replica set $new to 2 from 1
ScalingReplicaSet Scaled down replica set $old to 2 from 3
ScalingReplicaSet Scaled up replica set $new to 3 from 2
ScalingReplicaSet Scaled down replica set $old to 1 from 2
ScalingReplicaSet Scaled up replica set $new to 4 from 3
ScalingReplicaSet Scaled down replica set $old to 0 from 1" "item 17: worked trace A, exact event texts"
# 22: conditions and counters after completion.
expect_eq "$(dep_cond a Available status)/$(dep_cond a Available reason)/$(dep_cond a Available message)" \
    "True/MinimumReplicasAvailable/Deployment has minimum availability." "item 22: Available condition"
expect_eq "$(dep_cond a Progressing status)/$(dep_cond a Progressing reason)/$(dep_cond a Progressing message)" \
    "True/NewReplicaSetAvailable/ReplicaSet \"$new\" has successfully progressed." "item 22: Progressing condition"
expect_eq "$(kubectl get deploy a -o jsonpath='{.status.replicas}/{.status.updatedReplicas}/{.status.availableReplicas}/{.status.readyReplicas}')" \
    "4/4/4/4" "item 22: replicas = updated = available = ready = R"
expect_eq "$(dep_field a .status.observedGeneration)" "$(dep_field a .metadata.generation)" "item 22: observedGeneration = generation"
expect_eq "$(dep_field a .status.unavailableReplicas)" "" "item 26: unavailableReplicas omitted when 0"
# 23: ReplicaSetUpdated refreshes lastUpdateTime, keeps lastTransitionTime.
upd=$(grep '^ReplicaSetUpdated ' "$TEST_DIR/prog.a" | sort -u)
expect_match "$(echo "$upd" | awk '{print $2}' | sort -u | wc -l)" '^[2-9]|[1-9][0-9]$' \
    "item 23: lastUpdateTime advanced during the rollout"
expect_eq "$(echo "$upd" | awk '{print $3}' | sort -u | wc -l)" "1" "item 23: lastTransitionTime kept"
# 28: rollout status messages in order (with surge 1 / unavailable 0 the old pods outlive the
# last new pod's availability, so "N of N updated replicas are available" cannot occur here).
expect_eq "$st_rc" "0" "item 28: rollout status exit 0"
expect_eq "$(grep -v '^$' "$TEST_DIR/status.a" | sed 's/[0-9]\+/N/g' | awk '!seen[$0]++')" \
'Waiting for deployment "a" rollout to finish: N out of N new replicas have been updated...
Waiting for deployment "a" rollout to finish: N old replicas are pending termination...
deployment "a" successfully rolled out' "item 28: message forms in order (surge rollout)"

# --- item 8: R=4, maxSurge=0, maxUnavailable=1 ---
dep_apply b 4 test/app:1 "  minReadySeconds: 1" "  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}"
wait_for 30 "b: initial rollout complete" -- dep_complete b 4
oldb=$(rs_names b)
trace_start b
kubectl set image deploy/b app=test/app:2 >/dev/null
kubectl rollout status deploy/b --timeout=60s >"$TEST_DIR/status.b" 2>&1 &
ST_PID=$!
wait_for 60 "b: rollout complete" -- dep_complete b 4
trace_stop
wait "$ST_PID"; st_rc=$?
expect_eq "$st_rc" "0" "item 28: rollout status exit 0 (b)"
expect_eq "$(grep -v '^$' "$TEST_DIR/status.b" | tail -n 2)" \
'Waiting for deployment "b" rollout to finish: 3 of 4 updated replicas are available...
deployment "b" successfully rolled out' "item 28: 'N of N updated replicas are available' before success"
newb=$(rs_names b | grep -v "^$oldb\$")
expect_match "$(head -n 3 "$TEST_DIR/trace.b")" "$newb:0/0" "item 8: new RS created with 0 replicas"
expect_eq "$(events_for b | grep -c "Scaled up replica set $newb to 0")" "0" "item 8: no event for a 0-sized creation"
expect_eq "$(events_for b | sed -n 2p)" "ScalingReplicaSet Scaled down replica set $oldb to 3 from 4" \
    "item 8: old RS scaled down first"
expect_eq "$(trace_max b 1)" "4" "item 8: sum of RS spec never above 4"
expect_eq "$(trace_max b 3)" "4" "item 8: never more than 4 non-terminating pods"
expect_eq "$(trace_min b 2)" "3" "item 8: availableReplicas never below 3"

# --- item 12: R=1, defaults: surge first ---
dep_apply c 1 test/app:1 "  minReadySeconds: 1"
wait_for 30 "c: initial rollout complete" -- dep_complete c 1
trace_start c
kubectl set image deploy/c app=test/app:2 >/dev/null
wait_for 60 "c: rollout complete" -- dep_complete c 1
trace_stop
expect_eq "$(trace_min c 3)" "1" "item 12: a pod always runs"
expect_eq "$(trace_max c 3)" "2" "item 12: the new pod starts before the old is deleted"
expect_eq "$(trace_min c 2)" "1" "item 12: availableReplicas never below 1"
finish
