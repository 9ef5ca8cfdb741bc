#!/usr/bin/env bash
# t1513: hostile and greedy clients of pods/exec, with raw WebSocket and SPDY/3.1 frames
# (t1513-stream-limits.py): protocol violations (unmasked frame, 1 TiB frame, SPDY/2 frame,
# corrupt header block) end only their session; no common SPDY protocol is 403; the 65th open
# session is 429 and the count goes down as clients leave; the server then still serves exec.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
kroll_start --runtime=runc
bbimage test/bb
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: box}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: test/bb, command: [sleep, "3600"]}]
Y
wait_running box 90
/usr/bin/python3 "$(dirname "$0")/t1513-stream-limits.py" "$KROLL_PORT" "$KROLL_DATA/pki/ca.crt" \
    "$KROLL_TOKEN" box >"$TEST_DIR/py.log" 2>&1
RC=$?
while read -r line; do
    case $line in "ok - "*) pass "${line#ok - }" ;; "FAIL - "*) fail "${line#FAIL - }" ;; *) say "$line" ;; esac
done <"$TEST_DIR/py.log"
expect_eq "$RC" 0 "the raw client finished"
kill -0 "$KROLL_SERVER_PID" && pass "the server survived" || fail "the server died"
expect_eq "$(timeout 30 kubectl exec box -- echo still)" still "exec still works afterwards"
pods_gone
finish
