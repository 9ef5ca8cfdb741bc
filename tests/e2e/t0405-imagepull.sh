#!/usr/bin/env bash
# Checklist 35: a missing image shows ErrImagePull then ImagePullBackOff, phase Pending, events
# Pulling, Failed (Failed to pull image ...), Failed (Error: ErrImagePull), BackOff (Back-off
# pulling image ...), Failed (Error: ImagePullBackOff); the next pull comes after the 10 s
# back-off; once the image exists the pod starts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
node_skip_checks
kroll_start

kubectl get pods -w --no-headers >"$TEST_DIR/watch.out" 2>&1 &
KROLL_PIDS="$KROLL_PIDS $!"
T0=$(now_s)
kubectl run nope --image=myrepo/nope:9 >/dev/null
T0b=$(now_s)
wreason() { jp nope '{.status.containerStatuses[0].state.waiting.reason}'; }
is_reason() { [ "$(wreason)" = "$1" ]; }
wait_for 10 "ImagePullBackOff" -- is_reason ImagePullBackOff
expect_eq "$(jp nope '{.status.phase}')" "Pending" "phase Pending"
expect_eq "$(jp nope '{.status.containerStatuses[0].state.waiting.message}')" \
    'Back-off pulling image "myrepo/nope:9"' "back-off message"
ev=$(events_of nope | grep -v '^Scheduled|')
want='Pulling|Pulling image "myrepo/nope:9"
Failed|Failed to pull image "myrepo/nope:9": *
Failed|Error: ErrImagePull
BackOff|Back-off pulling image "myrepo/nope:9"
Failed|Error: ImagePullBackOff'
i=0
while IFS= read -r w; do
    i=$((i + 1))
    got=$(printf '%s\n' "$ev" | sed -n "${i}p")
    case "$got" in $w) pass "event $i: $got" ;; *) fail "event $i: got [$got] want [$w]" ;; esac
done <<<"$want"
# The pull really ran skopeo (against the test's empty layout, lib.sh): its words, unframed.
expect_match "$(printf '%s\n' "$ev" | sed -n 2p)" 'Failed to pull image "myrepo/nope:9": .*(no such file|not found|no descriptor)' \
    "the failure says what skopeo said"
expect_eq "$(kubectl get events --field-selector involvedObject.name=nope,reason=Failed \
    -o jsonpath='{.items[*].type}')" "Warning Warning Warning" "Failed events are Warnings"
expect_eq "$(kubectl get events --field-selector involvedObject.name=nope,reason=BackOff \
    -o jsonpath='{.items[0].type}')" "Normal" "BackOff (image) is Normal"

# The second pull attempt comes after the first back-off step (10 s), not before.
pulls() { kubectl get events --field-selector involvedObject.name=nope,reason=Pulling -o jsonpath='{.items[0].count}'; }
# The first pull came after T0, so the second cannot come before T0 + 10 s.
d=$(awk -v t0="$T0" -v now="$(now_s)" 'BEGIN { d = t0 + 9.5 - now; print (d > 0 ? d : 0) }')
if in_range "$d" 0.3 100; then
    sleep "$(awk -v d="$d" 'BEGIN { print d - 0.3 }')"
    expect_eq "$(pulls)" 1 "no second pull within 9 s"
fi
two() { [ "$(pulls)" = 2 ]; }
wait_for 12 "second pull after ~10 s" -- two
# The back-off runs from the end of the first pull (skopeo, a fraction of a second; more on a
# loaded machine): generous upper bound.
expect_elapsed "$T0" "$T0b" "$(now_s)" 9.5 18 "second pull ≈10 s after the first"
statuses() { awk '$1 == "nope" { print $3 }' "$TEST_DIR/watch.out" | uniq | tr '\n' ' '; }
# The background watch may start after the first ErrImagePull row on a loaded machine; the
# retry (back-off, then a new pull that fails again) is what must show. The second Pulling
# event comes before that pull fails and the status says so: wait for the row (bounded).
wait_for 10 "the retry shows in the watch" -- sh_eval 'statuses | grep -q "ImagePullBackOff ErrImagePull"'
st=$(statuses)
expect_match "$st" 'ImagePullBackOff ErrImagePull' "STATUS ErrImagePull <-> ImagePullBackOff ($st)"

# The image appears: the pod starts at the next attempt (20 s back-off at most).
mkimage myrepo/nope:9 'echo up; sleep 100'
wait_for 30 "pod Running once the image exists" -- phase_is nope Running
finish
