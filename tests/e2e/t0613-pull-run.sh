#!/usr/bin/env bash
# t0613: a pod whose image is not in the store becomes Running after the kubelet pulls it
# (skopeo from the test's OCI layout): events Pulling then `Successfully pulled image "X" in
# Ns (Ns including waiting). Image size: N bytes.` as `kubectl describe` shows them, imageID
# is docker.io/REPO@<the layout's manifest digest>, the image is in the store afterwards and a
# second pod of it pulls nothing (IfNotPresent). Three pods of another absent image created at
# once share one pull. A malformed reference is InvalidImageName and pulls nothing.
# Runs on the process runtime, and on runc with KROLL_RUNTIME=runc.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pull-lib.sh"
pull_skip_checks
kroll_start

pushimage test/app:1 'echo "app v1 up"; sleep 1000'
in_store test/app:1 && fail "test/app:1 must not be in the store yet" || pass "image absent from the store"
kubectl run p1 --image=test/app:1 >/dev/null
wait_for 60 "p1 Running after the pull" -- sh_eval 'test "$(phase_of p1)" = Running'
ev=$(pod_events p1 | grep -v '|Successfully assigned')
expect_match "$(printf '%s\n' "$ev" | sed -n 1p)" '^Normal Pulling\|Pulling image "test/app:1"$' "first event: Pulling"
expect_match "$(printf '%s\n' "$ev" | sed -n 2p)" \
    '^Normal Pulled\|Successfully pulled image "test/app:1" in [0-9.]+m?s \([0-9.]+m?s including waiting\)\. Image size: [1-9][0-9]* bytes\.$' \
    "then Pulled with the kubelet's text"
expect_match "$(printf '%s\n' "$ev" | sed -n 3p)" '^Normal Created\|' "then Created"
desc=$(kubectl describe pod p1)
expect_match "$desc" 'Normal +Pulling +[0-9a-z]+ +kubelet +Pulling image "test/app:1"' "describe shows Pulling"
expect_match "$desc" 'Normal +Pulled +[0-9a-z]+ +kubelet +Successfully pulled image "test/app:1" in' "describe shows Pulled"
expect_eq "$(kubectl get pod p1 -o jsonpath='{.status.containerStatuses[0].imageID}')" \
    "docker.io/test/app@$(reg_digest test/app:1)" "imageID is repo@manifest digest"
in_store test/app:1 && pass "the pulled image is in the store" || fail "test/app:1 not in the store"
wait_for 20 "p1 runs the pulled image" -- sh_eval 'kubectl logs p1 | grep -q "app v1 up"'

kubectl run p2 --image=test/app:1 >/dev/null
wait_for 30 "p2 Running" -- sh_eval 'test "$(phase_of p2)" = Running'
expect_eq "$(pod_events p2 | grep -c 'Pulling|')" "0" "IfNotPresent with the image present: no pull"
expect_match "$(pod_events p2)" 'Normal Pulled\|Container image "test/app:1" already present on machine' \
    "p2: already present on machine"

# Three pods of an absent image at once: one pull (the others wait for it), all Running.
pushimage test/shared:2 'sleep 1000'
runs=""
for i in 1 2 3; do
    kubectl run "s$i" --image=test/shared:2 >/dev/null &
    runs="$runs $!"
done
for r in $runs; do wait "$r"; done
for i in 1 2 3; do
    wait_for 60 "s$i Running" -- sh_eval "test \"\$(phase_of s$i)\" = Running"
done
expect_eq "$(grep -c 'msg="pulling image" image="test/shared:2"' "$TEST_DIR/server.log")" "1" \
    "one pull for three pods"
for i in 1 2 3; do
    expect_match "$(pod_events s$i)" \
        'Successfully pulled image "test/shared:2"|already present on machine' "s$i: Pulled event"
done

# (kubectl run checks names itself; the API, like Kubernetes', does not.)
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec: {containers: [{name: c, image: "test/UPPER:1"}]}
Y
wait_for 20 "malformed reference: InvalidImageName" -- sh_eval 'test "$(wreason_of bad)" = InvalidImageName'
expect_match "$(pod_events bad)" 'Warning InspectFailed\|Failed to apply default image tag' "InspectFailed event"
expect_eq "$(pod_events bad | grep -c 'Pulling|')" "0" "and no pull"
pull_finish
