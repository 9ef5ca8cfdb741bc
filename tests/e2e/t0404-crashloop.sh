#!/usr/bin/env bash
# Checklist 34: a container exiting 1 repeatedly shows STATUS Error then CrashLoopBackOff, phase
# Running, restart waits 0, 10, 20 s (k8s-semantics 7.1), the waiting message and Warning BackOff
# events; `kubectl logs --previous` shows the instance before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
node_skip_checks
kroll_start
mkimage test/crash 'n=$(cat $T/count 2>/dev/null || echo 0); n=$((n+1)); echo $n >$T/count;
now >>$T/starts; echo "run $n"; exit 1'

kubectl get pods -w --no-headers >"$TEST_DIR/watch.out" 2>&1 &
KROLL_PIDS="$KROLL_PIDS $!"
# The container counts its runs in the shared directory (img-lib.sh), mounted into the pod.
kubectl run crash --image=test/crash --restart=Always --overrides="$(jq -nc --arg t "$TSHARE" \
    '{spec: {volumes: [{name: "tshare", hostPath: {path: $t}}],
      containers: [{name: "crash", image: "test/crash", volumeMounts: [{name: "tshare", mountPath: $t}]}]}}')" >/dev/null
starts() { [ "$(wc -l <"$TSHARE/starts" 2>/dev/null || echo 0)" -ge "$1" ]; }
wait_for 15 "first two runs (the first restart is immediate)" -- starts 2
wait_for 20 "third run after the 10 s back-off" -- starts 3
expect_eq "$(jp crash '{.status.phase}')" "Running" "crash-looping pod is phase Running"
wait_for 30 "fourth run after the 20 s back-off" -- starts 4
mapfile -t T < "$TSHARE/starts"
expect_range "$(secs_between "${T[0]}" "${T[1]}")" 0 2.5 "wait before restart 1 (0 s)"
expect_range "$(secs_between "${T[1]}" "${T[2]}")" 9.5 12.5 "wait before restart 2 (10 s)"
expect_range "$(secs_between "${T[2]}" "${T[3]}")" 19.5 22.5 "wait before restart 3 (20 s)"

waiting() { [ "$(jp crash '{.status.containerStatuses[0].state.waiting.reason}')" = CrashLoopBackOff ]; }
wait_for 5 "waiting reason CrashLoopBackOff" -- waiting
UID_=$(jp crash '{.metadata.uid}')
expect_eq "$(jp crash '{.status.containerStatuses[0].state.waiting.message}')" \
    "back-off 40s restarting failed container=crash pod=crash_default($UID_)" "back-off message"
expect_eq "$(jp crash '{.status.containerStatuses[0].restartCount}')" 3 "restartCount"
expect_eq "$(jp crash '{.status.containerStatuses[0].lastState.terminated.reason}')" Error \
    "lastState terminated Error"
expect_match "$(kubectl get pod crash --no-headers)" '^crash +0/1 +CrashLoopBackOff +3 \([0-9]+s ago\)' \
    "kubectl get pods: CrashLoopBackOff, RESTARTS 3 (Ns ago)"
expect_eq "$(kubectl logs crash --previous)" "run 4" "logs --previous: the last instance"
ev=$(events_of crash)
expect_match "$ev" "BackOff\|Back-off restarting failed container crash in pod crash_default\($UID_\)" \
    "Warning BackOff event"
expect_eq "$(kubectl get events --field-selector involvedObject.name=crash,reason=BackOff \
    -o jsonpath='{.items[0].type}')" Warning "BackOff is a Warning"
expect_eq "$(echo "$ev" | grep -c '^Started|')" 1 "Started event aggregated (one object)"
expect_match "$(kubectl get events --field-selector involvedObject.name=crash,reason=Started \
    -o jsonpath='{.items[0].count}')" '^[4-9]$' "Started counted once per run"
# STATUS as kubectl shows it over time: Error after an exit, then CrashLoopBackOff.
st=$(awk '$1 == "crash" { print $3 }' "$TEST_DIR/watch.out" | uniq | tr '\n' ' ')
expect_match "$st" 'Error .*CrashLoopBackOff' "watch shows Error then CrashLoopBackOff ($st)"
finish
