#!/usr/bin/env bash
# t0614: pulls that cannot succeed, as the kubelet reports them. An image the layout lacks:
# ErrImagePull whose message is what skopeo said (its text, not its log framing), events
# Pulling, Failed `Failed to pull image "X": ...`, Failed `Error: ErrImagePull`, then
# ImagePullBackOff; pushing the image ends it at a later attempt. imagePullPolicy Never with the
# image absent: ErrImageNeverPull and no pull at all; Never with the image present runs it.
# Runs on the process runtime, and on runc with KROLL_RUNTIME=runc.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pull-lib.sh"
pull_skip_checks
kroll_start

pushimage test/other:1 'sleep 1000' # the layout exists; test/miss:3 is not in it
kubectl run miss --image=test/miss:3 >/dev/null
wait_for 60 "ErrImagePull or ImagePullBackOff" -- sh_eval \
    'case "$(wreason_of miss)" in ErrImagePull|ImagePullBackOff) true ;; *) false ;; esac'
ev=$(pod_events miss | grep -v '|Successfully assigned')
expect_match "$(printf '%s\n' "$ev" | sed -n 1p)" '^Normal Pulling\|Pulling image "test/miss:3"$' "Pulling"
fl=$(printf '%s\n' "$ev" | sed -n 2p)
expect_match "$fl" '^Warning Failed\|Failed to pull image "test/miss:3": .*test/miss:3' \
    "Failed to pull image, naming what skopeo could not find"
case "$fl" in *level=fatal*|*'time="'*) fail "skopeo's log framing kept: $fl" ;;
    *) pass "skopeo's message without its log framing" ;; esac
expect_match "$(printf '%s\n' "$ev" | sed -n 3p)" '^Warning Failed\|Error: ErrImagePull$' "Error: ErrImagePull"
wait_for 30 "then ImagePullBackOff" -- sh_eval 'test "$(wreason_of miss)" = ImagePullBackOff'
expect_eq "$(phase_of miss)" "Pending" "phase Pending"
expect_match "$(kubectl describe pod miss)" 'Back-off pulling image "test/miss:3"' "describe shows the back-off"

pushimage test/miss:3 'echo "now here"; sleep 1000'
# The next attempt comes after the back-off (10 s, then 20 s): generous bound.
wait_for 90 "Running once the layout has it" -- sh_eval 'test "$(phase_of miss)" = Running'
expect_match "$(pod_events miss)" 'Successfully pulled image "test/miss:3"' "pulled at a later attempt"

cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: never}
spec: {containers: [{name: c, image: "test/nope:1", imagePullPolicy: Never}]}
---
apiVersion: v1
kind: Pod
metadata: {name: never-ok} # its image enters the store only below
spec: {containers: [{name: c, image: "test/other:1", imagePullPolicy: Never}]}
Y
wait_for 30 "Never + absent: ErrImageNeverPull" -- sh_eval 'test "$(wreason_of never)" = ErrImageNeverPull'
expect_eq "$(kubectl get pod never -o jsonpath='{.status.containerStatuses[0].state.waiting.message}')" \
    'Container image "test/nope:1" is not present with pull policy of Never' "its message"
expect_match "$(pod_events never)" 'Warning ErrImageNeverPull\|Container image "test/nope:1" is not present with pull policy of Never' "ErrImageNeverPull event"
expect_match "$(pod_events never)" 'Warning Failed\|Error: ErrImageNeverPull' "Error: ErrImageNeverPull event"
expect_eq "$(pod_events never | grep -c 'Pulling|')" "0" "Never: no pull"
expect_eq "$(grep -c 'msg="pulling image" image="test/nope:1"' "$TEST_DIR/server.log")" "0" "Never: no skopeo run"
"$KROLL_BIN" image import "$TEST_DIR/src-test_other_1.tar" test/other:1 --data-dir "$KROLL_DATA" >/dev/null ||
    fail "import test/other:1"
# Imported after the pod was refused: the kubelet's next look (10 s) finds it.
wait_for 60 "Never + present: Running" -- sh_eval 'test "$(phase_of never-ok)" = Running'
pull_finish
