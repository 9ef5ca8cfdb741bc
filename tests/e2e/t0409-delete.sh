#!/usr/bin/env bash
# Checklists 40 and 41: deleting a pod sets deletionTimestamp = now + 30 s (default grace),
# STATUS Terminating, and the ReplicaSet creates a replacement at once; a container that
# ignores SIGTERM is SIGKILLed at the grace period (exit 137) and only then is the object gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
node_skip_checks
kroll_start
# Ignores SIGTERM; records when it arrives. (sh runs the trap between sleeps.)
mkimage test/stubborn 'trap "now >>$T/term-\$HOSTNAME" TERM; while :; do sleep 0.2; done'
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      volumes: $TVOL
      containers:
      - {name: main, image: test/stubborn, volumeMounts: $TMNT}
Y
one_running() { [ "$(kubectl get pods -l app=web --field-selector=status.phase=Running -o name | wc -l)" = 1 ]; }
wait_for 30 "deployment pod Running" -- one_running
P=$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
T0=$(now_s)
kubectl delete pod "$P" --wait=false >/dev/null
T0b=$(now_s)
dts=$(jp "$P" '{.metadata.deletionTimestamp}')
# RFC 3339 has whole seconds: allow the truncation.
expect_elapsed "$T0" "$T0b" "$(date -d "$dts" +%s)" 29 31 "deletionTimestamp = now + 30 s"
expect_eq "$(jp "$P" '{.metadata.deletionGracePeriodSeconds}')" 30 "deletionGracePeriodSeconds 30"
expect_match "$(kubectl get pod "$P" --no-headers)" "^$P +[01]/1 +Terminating" "STATUS Terminating"
replaced() { kubectl get pods -l app=web --no-headers | grep -v "^$P " | grep -q .; }
wait_for 3 "the ReplicaSet creates a replacement at once" -- replaced
expect_eq "$(kubectl get pods -l app=web -o name | wc -l)" 2 "old (terminating) + new pod"
sigterm() { ls "$TSHARE"/term-* >/dev/null 2>&1; }
wait_for 5 "SIGTERM delivered" -- sigterm
# Shorten the grace period with a second delete: SIGKILL at the new deadline (>= SIGTERM + 2 s).
kubectl get pod "$P" -w -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}{"\n"}' \
    >"$TEST_DIR/exit.out" 2>&1 &
KROLL_PIDS="$KROLL_PIDS $!"
sleep 1
T1=$(now_s)
kubectl delete pod "$P" --grace-period=4 --wait=false >/dev/null 2>&1
T1b=$(now_s)
wait_for 15 "pod object removed after SIGKILL" -- gone "$P"
expect_elapsed "$T1" "$T1b" "$(now_s)" 3.8 6 "killed ≈4 s after the shorter delete"
expect_match "$(cat "$TEST_DIR/exit.out")" '137' "exit code 137 (SIGKILL) in the final status"

# Default grace with a container that ignores SIGTERM: SIGKILL at ≈ grace (5 s here).
kubectl patch deploy web --type=merge -p '{"spec":{"template":{"spec":{"terminationGracePeriodSeconds":5}}}}' >/dev/null
one_new() { [ "$(kubectl get pods -l app=web -o name | wc -l)" = 1 ] && one_running; }
wait_for 60 "rolled to grace 5" -- one_new
P=$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
T2=$(now_s)
kubectl delete pod "$P" --wait=false >/dev/null
T2b=$(now_s)
wait_for 15 "pod ignoring SIGTERM removed" -- gone "$P"
expect_elapsed "$T2" "$T2b" "$(now_s)" 4.8 7 "SIGKILL at ≈ terminationGracePeriodSeconds"
finish
