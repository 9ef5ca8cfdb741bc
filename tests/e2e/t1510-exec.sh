#!/usr/bin/env bash
# t1510: kubectl exec on runc containers, with the kubectl on PATH (WebSocket v5) and the
# oldest and newest kubectl here (1.27: SPDY/3.1 v4; 1.33: WebSocket v5): stdout, stderr, the
# command's exit code as kubectl's own, stdin with its close (`echo | kubectl exec -i ... cat`),
# -c for a second container, a tty (-t: the process sees a terminal), the errors kubectl shows
# on a cluster (no such container, command not found, a completed pod), and a process started
# by exec that dies with its pod and with its client; cp both ways; attach (output only, the
# container has no stdin: t1512 tests those) until the container exits.
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
---
apiVersion: v1
kind: Pod
metadata: {name: talk}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: test/bb
    command: [sh, -c, 'i=0; while [ \$i -lt 3000 ]; do echo tick \$i; echo tock \$i >&2; i=\$((i+1)); sleep 0.2; done']
Y
wait_running box 90
wait_running talk 90

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
    # -t: a terminal of the client's size; kubectl needs its own stdin to be a terminal.
    OUT=$(timeout 30 script -qec "stty cols 91 rows 17; $K exec -it box -c main -- sh -c 'stty size; exit 6'" /dev/null 2>&1 | tr -d '\r')
    case $OUT in *"17 91"*"exit code 6"*) pass "$V: -it: a tty of the client's size, exit code" ;;
    *) fail "$V: -it: $OUT" ;; esac
    # A client that goes away takes its process along.
    "$K" exec box -c side -- sleep 4242 >/dev/null 2>&1 &
    KP=$!
    wait_for 30 "$V: the exec'd sleep runs" -- sh_eval 'pgrep -a sleep | grep -q 4242'
    kill -9 "$KP"; wait "$KP" 2>/dev/null
    wait_for 30 "$V: the process of a dropped client is killed" -- sh_eval '! pgrep -a sleep | grep -q 4242'
    # cp both ways (tar over exec; the upload ends through the stdin half-close).
    rm -rf "$TEST_DIR/src" "$TEST_DIR/back"; mkdir -p "$TEST_DIR/src"
    head -c 2000000 /dev/urandom >"$TEST_DIR/src/blob"; echo note >"$TEST_DIR/src/note.txt"
    timeout 60 "$K" cp "$TEST_DIR/src" box:/tmp/up -c main 2>/dev/null
    expect_eq "$?" 0 "$V: cp to the pod"
    timeout 60 "$K" cp box:/tmp/up "$TEST_DIR/back" -c main 2>/dev/null
    expect_eq "$?" 0 "$V: cp from the pod"
    expect_eq "$(md5sum <"$TEST_DIR/back/blob")" "$(md5sum <"$TEST_DIR/src/blob")" "$V: cp round trip keeps 2 MB intact"
    expect_eq "$(cat "$TEST_DIR/back/note.txt" 2>/dev/null)" note "$V: cp keeps the tree"
    "$K" exec box -c main -- rm -rf /tmp/up
    # attach follows the main process's output (stdout and stderr apart).
    OUT=$(timeout 20 "$K" attach talk 2>/dev/null | head -n 2 | tr '\n' ' ')
    expect_match "$OUT" '^tick [0-9]+ tick [0-9]+ $' "$V: attach streams stdout"
    OUT=$(timeout 20 "$K" attach talk 2>&1 >/dev/null | grep -m 1 -o 'tock [0-9]*')
    expect_match "$OUT" '^tock [0-9]+$' "$V: attach streams stderr on its own"
    # -i to a container without stdin (t1512 has those): its output, the input goes nowhere.
    OUT=$(timeout 20 "$K" attach -i talk </dev/null 2>/dev/null | head -n 1)
    expect_match "$OUT" '^tick [0-9]+$' "$V: attach -i to a container without stdin streams its output"
done

# attach ends, with kubectl's success, when the container exits.
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: brief}
spec:
  restartPolicy: Never
  containers: [{name: c, image: test/bb, command: [sh, -c, 'sleep 8; echo bye']}]
Y
wait_running brief 90
OUT=$(timeout 60 kubectl attach brief 2>/dev/null)
RC=$?
expect_eq "$RC:$OUT" "0:bye" "attach ends with the container, exit 0"

# Both transports served: WebSocket v5 (1.30+) and SPDY (1.27), without a fallback from WS.
grep -q 'sub=exec proto=websocket' "$TEST_DIR/server.log" && pass "exec over WebSocket" ||
    fail "no WebSocket exec session in the server log"
case $VERSIONS in *1.27*)
    grep -q 'sub=exec proto=spdy' "$TEST_DIR/server.log" && pass "exec over SPDY (1.27)" ||
        fail "no SPDY exec session in the server log" ;;
esac

# A completed pod: kubectl refuses itself, after reading the phase.
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: done}
spec:
  restartPolicy: Never
  containers: [{name: c, image: test/bb, command: ["true"]}]
Y
wait_for 60 "done Succeeded" -- sh_eval 'test "$(pod_field done .status.phase)" = Succeeded'
kubectl exec done -- true 2>"$TEST_DIR/err"
grep -q 'cannot exec into a container in a completed pod; current phase is Succeeded' "$TEST_DIR/err" &&
    pass "completed pod refused" || fail "completed pod: $(cat "$TEST_DIR/err")"

# The pod's deletion ends an exec session and its process.
kubectl exec box -c side -- sleep 4343 >/dev/null 2>&1 &
KP=$!
wait_for 30 "an exec'd sleep runs" -- sh_eval 'pgrep -a sleep | grep -q 4343'
kubectl delete pod box --wait=false >/dev/null
wait_for 60 "the exec session ends with the pod" -- sh_eval '! kill -0 $KP 2>/dev/null'
wait_for 30 "the exec'd process died with its pod" -- sh_eval '! pgrep -a sleep | grep -q 4343'
wait "$KP" 2>/dev/null
pods_gone
finish
