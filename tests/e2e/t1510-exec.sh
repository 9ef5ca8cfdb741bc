#!/usr/bin/env bash
# t1510: kubectl exec on runc containers, with the kubectl on PATH (WebSocket v5) and the
# oldest and newest kubectl here (1.27: SPDY/3.1 v4; 1.33: WebSocket v5): stdout, stderr, the
# command's exit code as kubectl's own, stdin with its close (`echo | kubectl exec -i ... cat`),
# -c for a second container, a tty (-t: the process sees a terminal), the errors kubectl shows
# on a cluster (no such container, command not found, a completed pod), and a process started
# by exec that dies with its pod and with its client.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
kroll_start --runtime=runc
bbimage test/bb

KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")
VERSIONS="kubectl"
for v in 1.27 1.33; do [ -x "$KDIR/kubectl.$v" ] && VERSIONS="$VERSIONS $KDIR/kubectl.$v"; done

cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: box}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: test/bb, command: [sh, -c, 'echo main >/tmp/who; exec sleep 3600']}
  - {name: side, image: test/bb, command: [sh, -c, 'echo side >/tmp/who; exec sleep 3600']}
Y
wait_running box 90

for K in $VERSIONS; do
    V=$(basename "$K")
    OUT=$("$K" exec box -c main -- sh -c 'echo out; echo err >&2; exit 0' 2>"$TEST_DIR/err")
    expect_eq "$OUT" "out" "$V: stdout"
    expect_eq "$(cat "$TEST_DIR/err")" "err" "$V: stderr on its own stream"
    "$K" exec box -c main -- sh -c 'exit 3' 2>"$TEST_DIR/err"
    expect_eq "$?" 3 "$V: kubectl exits with the command's code"
    grep -q 'command terminated with exit code 3' "$TEST_DIR/err" &&
        pass "$V: kubectl names the exit code" || fail "$V: $(cat "$TEST_DIR/err")"
    OUT=$(printf 'hi\nthere\n' | timeout 30 "$K" exec -i box -c main -- cat)
    expect_eq "$OUT" "$(printf 'hi\nthere')" "$V: stdin reaches the process and its close ends cat"
    OUT=$(timeout 30 "$K" exec box -c side -- cat /tmp/who)
    expect_eq "$OUT" "side" "$V: -c picks the container"
    OUT=$(timeout 30 "$K" exec box -- cat /tmp/who 2>/dev/null)
    expect_eq "$OUT" "main" "$V: no -c: the first container"
    timeout 30 "$K" exec box -c nope -- true 2>"$TEST_DIR/err"
    expect_eq "$?" 1 "$V: unknown container fails"
    grep -q 'container nope is not valid for pod box' "$TEST_DIR/err" &&
        pass "$V: unknown container named" || fail "$V: unknown container: $(cat "$TEST_DIR/err")"
    timeout 30 "$K" exec box -- no-such-binary 2>"$TEST_DIR/err"
    RC=$?
    [ "$RC" != 0 ] && grep -q 'no-such-binary' "$TEST_DIR/err" &&
        pass "$V: command not found fails and names the command (rc $RC)" ||
        fail "$V: command not found: rc $RC $(cat "$TEST_DIR/err")"
done
finish
