#!/usr/bin/env bash
# t1512: kubectl attach -i/-t and kubectl run -it on runc containers whose stdin (a pipe) or
# terminal the pod's shim holds, with the kubectl on PATH (1.32: WebSocket v5) and 1.27 (SPDY):
# input reaches `cat` and its echo comes back; -t gives a terminal (`tty` names /dev/pts/N,
# `stty size` follows the client's size and its resize); stdinOnce closes stdin when the first
# attach's input ends; the server killed with -9 and restarted: the container's stdin is still
# open (same instance) and a new attach reaches it; `kubectl run -it --rm` (terminal) and
# `kubectl run -i --rm` (piped) run a shell, end with it and delete the pod.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
kroll_start --runtime=runc
bbimage test/bb
PTY="/usr/bin/python3 $(dirname "$0")/t1512-pty.py"

KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")
VERSIONS="kubectl"
[ -x "$KDIR/kubectl.1.27" ] && VERSIONS="$VERSIONS $KDIR/kubectl.1.27"

pods() { # pods SUFFIX: the pods one kubectl version attaches to
    cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: echo$1}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: test/bb, stdin: true, command: [cat]}]
---
apiVersion: v1
kind: Pod
metadata: {name: term$1}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers: [{name: c, image: test/bb, stdin: true, tty: true, command: [sh]}]
---
apiVersion: v1
kind: Pod
metadata: {name: once$1}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers: [{name: c, image: test/bb, stdin: true, stdinOnce: true, command: [sh, -c, 'cat; echo stdin-closed']}]
Y
}

N=0
for K in $VERSIONS; do
    N=$((N + 1))
    pods "$N"
done
for i in $(seq 1 "$N"); do
    for p in echo term once; do wait_running "$p$i" 90; done
done

N=0
for K in $VERSIONS; do
    N=$((N + 1))
    V=$(basename "$K")
    # -i: what the client types reaches cat, its echo comes back; the end of the client's
    # input ends the attach (not the container's stdin: no stdinOnce).
    OUT=$( (echo "one-$N"; sleep 2) | timeout 30 "$K" attach -i "echo$N" 2>/dev/null)
    expect_eq "$?:$OUT" "0:one-$N" "$V: attach -i echoes input through cat, ends at the input's end"
    OUT=$( (echo "two-$N"; sleep 2) | timeout 30 "$K" attach -i "echo$N" 2>/dev/null)
    expect_eq "$OUT" "two-$N" "$V: a second attach reaches the same stdin"
    # -t: a terminal of the client's size that follows its resize.
    OUT=$(timeout 60 $PTY 30 99 20 "expect:see a command prompt" "send:tty\n" \
        "expect:/dev/pts/[0-9]+" "send:stty size\n" "expect:30 99" "resize:41,123" \
        "send:stty size\n" "expect:41 123" "send:exit 4\n" wait -- "$K" attach -it "term$N" 2>&1)
    case $OUT in *"exit 0"*) pass "$V: attach -t: /dev/pts, stty size 30 99 then 41 123 after a resize, ends with the shell" ;;
    *) fail "$V: attach -t: $OUT" ;; esac
    # stdinOnce: the first attach's input ends, so does the container's stdin (cat ends).
    OUT=$( (echo "first-$N"; sleep 1) | timeout 30 "$K" attach -i "once$N" 2>/dev/null)
    expect_eq "$?:$(echo $OUT)" "0:first-$N stdin-closed" "$V: stdinOnce closes stdin after the first attach"
done

# The terminal's output is the container's log, as containerd writes it (stdout records).
LOG=$(kubectl logs term1 2>&1)
case $LOG in *"/dev/pts/"*"30 99"*) pass "the terminal's output is in kubectl logs" ;;
*) fail "tty log: $LOG" ;; esac

# -t to a container without a terminal: kubectl says so and goes on without one.
OUT=$( (echo plain; sleep 1) | timeout 30 kubectl attach -i -t echo1 2>&1)
case $OUT in *"Unable to use a TTY - container c did not allocate one"*plain*) pass "-t without a container tty: kubectl's warning, then input still works" ;;
*) fail "-t without a container tty: $OUT" ;; esac
# The server's own refusal, for clients that do not drop -t themselves.
OUT=$(api_curl '/api/v1/namespaces/default/pods/echo1/attach?container=c&stdin=true&stdout=true&tty=true' -w ' %{http_code}')
case $OUT in *"Unable to use a TTY - container c did not allocate one"*" 400") pass "tty=true for a container without one: 400 with kubectl's text" ;;
*) fail "tty refusal: $OUT" ;; esac
grep -q 'sub=attach proto=websocket' "$TEST_DIR/server.log" && pass "attach over WebSocket" ||
    fail "no WebSocket attach session in the server log"
case $VERSIONS in *1.27*)
    grep -q 'sub=attach proto=spdy' "$TEST_DIR/server.log" && pass "attach over SPDY (1.27)" ||
        fail "no SPDY attach session in the server log" ;;
esac

# The shim holds the stdin: kill -9 the server, restart it; the same cat still reads it.
kill -9 "$KROLL_SERVER_PID"; wait "$KROLL_SERVER_PID" 2>/dev/null
kroll_start --runtime=runc
OUT=$( (echo "after-restart"; sleep 2) | timeout 30 kubectl attach -i echo1 2>/dev/null)
expect_eq "$OUT" "after-restart" "after kill -9 and a restart, attach reaches the same stdin"
expect_eq "$(pod_field echo1 '.status.containerStatuses[0].restartCount')" 0 "cat never saw EOF (no restart)"

# 30 MB of output through an attach: every byte arrives (a slow reader makes the container wait,
# nothing is dropped), and the attach ends with the container.
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers: [{name: c, image: test/bb, stdin: true, command: [sh, -c, 'while [ ! -e /tmp/go ]; do sleep 0.1; done; head -c 30000000 /dev/zero']}]
Y
wait_running big 90
SESSIONS=$(grep -c 'sub=attach' "$TEST_DIR/server.log")
( timeout 60 kubectl attach big 2>/dev/null | wc -c >"$TEST_DIR/big.count" ) &
AP=$!
wait_for 30 "the big attach is connected" -- sh_eval \
    'test "$(grep -c sub=attach "$TEST_DIR/server.log")" -gt "$SESSIONS"'
T0=$(date +%s.%N)
kubectl exec big -- touch /tmp/go
wait "$AP"
T1=$(date +%s.%N)
expect_eq "$(cat "$TEST_DIR/big.count")" 30000000 "30 MB through attach, every byte ($(awk "BEGIN { printf \"%.2f\", $T1 - $T0 }") s)"

# kubectl run -it --rm: waits for the pod, attaches a terminal, exit ends and deletes it.
OUT=$(timeout 90 $PTY 24 80 60 "expect:see a command prompt" "send:echo hi-\$((6*7))\n" \
    "expect:hi-42" "send:exit\n" wait -- kubectl run -it --rm --image=test/bb --restart=Never rit -- sh 2>&1)
case $OUT in *'pod "rit" deleted'*"exit 0"*) pass "run -it --rm: a shell, exit ends it, the pod is deleted" ;;
*) fail "run -it --rm: $OUT" ;; esac
OUT=$(printf 'echo piped-$((6*7))\nexit 3\n' | timeout 90 kubectl run -i --rm --image=test/bb --restart=Never rin -- sh 2>&1)
RC=$?
case $RC:$OUT in 3:*piped-42*'pod "rin" deleted'*) pass "run -i --rm with piped input: the shell's exit code 3, pod deleted" ;;
*) fail "run -i --rm: rc $RC $OUT" ;; esac
expect_eq "$(kubectl get pods rit rin -o name 2>/dev/null)" "" "run --rm pods are gone"
pods_gone
finish
