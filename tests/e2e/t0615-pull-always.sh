#!/usr/bin/env bash
# t0615: imagePullPolicy Always pulls on every container start. A pod of test/app:latest
# (Always by default) runs v1; a new build pushed to the layout under the same tag (a new
# digest) is what the next pod runs, with imageID naming the new digest, and a restart of a
# container pulls again (Pulling count grows). An Always image that no pull source has but the
# store holds (built here) still runs, with a Failed event saying the pull failed.
# Runs on the process runtime, and on runc with KROLL_RUNTIME=runc.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pull-lib.sh"
pull_skip_checks
kroll_start

pushimage test/app:latest 'echo "app v1"; sleep 1000'
D1=$(reg_digest test/app:latest)
kubectl run a1 --image=test/app >/dev/null
expect_eq "$(kubectl get pod a1 -o jsonpath='{.spec.containers[0].imagePullPolicy}')" "Always" \
    "no tag: policy Always"
wait_for 60 "a1 Running" -- sh_eval 'test "$(phase_of a1)" = Running'
wait_for 20 "a1 runs v1" -- sh_eval 'kubectl logs a1 | grep -q "app v1"'
expect_eq "$(kubectl get pod a1 -o jsonpath='{.status.containerStatuses[0].imageID}')" \
    "docker.io/test/app@$D1" "a1 imageID names v1's digest"

pushimage test/app:latest 'echo "app v2"; sleep 1000'
D2=$(reg_digest test/app:latest)
[ "$D1" != "$D2" ] && pass "the layout's tag moved to a new digest" || fail "same digest after the push"
kubectl run a2 --image=test/app:latest >/dev/null
wait_for 60 "a2 Running" -- sh_eval 'test "$(phase_of a2)" = Running'
wait_for 20 "a2 runs v2 (Always re-pulled)" -- sh_eval 'kubectl logs a2 | grep -q "app v2"'
expect_eq "$(kubectl get pod a2 -o jsonpath='{.status.containerStatuses[0].imageID}')" \
    "docker.io/test/app@$D2" "a2 imageID names v2's digest"
expect_match "$(pod_events a2)" 'Normal Pulled\|Successfully pulled image "test/app:latest" in' \
    "a2: Successfully pulled (not 'already present')"

# A container that exits is restarted, and each start pulls (the digest unchanged: cheap).
pushimage test/job:latest 'echo "job ran"; sleep 2; exit 1'
kubectl run j --image=test/job >/dev/null
pulls() { kubectl get events --field-selector involvedObject.name=j,reason=Pulling -o jsonpath='{.items[0].count}'; }
wait_for 120 "two pulls for two starts" -- sh_eval 'test "$(pulls)" -ge 2'
restarts() { kubectl get pod j -o jsonpath='{.status.containerStatuses[0].restartCount}'; }
wait_for 90 "restartCount >= 1" -- sh_eval 'test "$(restarts)" -ge 1'

# Built here, known to no pull source: the pull fails, the store's image runs.
dir=$TEST_DIR/local; mkdir -p "$dir"
jq -n '{Entrypoint: ["/bin/sh", "-c", "echo local; sleep 1000"], Env: ["PATH=/bin"]}' >"$dir/image.json"
cp -a "$TEST_DIR/src-test_app_latest/bin" "$dir/"
"$KROLL_BIN" image build "$dir" -t test/local --data-dir "$KROLL_DATA" >/dev/null || fail "build test/local"
kubectl run loc --image=test/local >/dev/null
wait_for 60 "local-only Always image: Running" -- sh_eval 'test "$(phase_of loc)" = Running'
expect_match "$(pod_events loc)" \
    'Warning Failed\|Failed to pull image "test/local": .*; using the image present on the machine' \
    "a Failed event says the pull failed and the present image is used"
pull_finish
