#!/usr/bin/env bash
# t0650: shareProcessNamespace on runc containers. With it, the pod's containers share one PID
# namespace held by the shim's pause process (PID 1, "/pause"): container b's `ps` shows a's
# process and b can signal it; a's restart (its process killed from the host) does not touch
# b, and the restarted a joins the same namespace, also after kill -9 of the server and a
# re-adoption; the pause goes with the pod, and a pause killed from the host is replaced by a
# new sandbox. Without it, b sees only its own processes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
kroll_start --runtime=runc
bbimage test/bb

pod() { # pod NAME SHARE
    cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  shareProcessNamespace: $2
  terminationGracePeriodSeconds: 2
  volumes: [{name: s, emptyDir: {}}]
  containers:
  - name: a
    image: test/bb
    volumeMounts: [{name: s, mountPath: /s}]
    command:
    - sh
    - -c
    - |
      trap 'echo got-usr1' USR1
      touch /s/trapped
      while true; do sleep 1; done
  - name: b
    image: test/bb
    volumeMounts: [{name: s, mountPath: /s}]
    command:
    - sh
    - -c
    - |
      i=0; while [ ! -f /s/trapped ] && [ \$i -lt 300 ]; do sleep 0.2; i=\$((i + 1)); done
      p=\$(ps | grep '[g]ot-usr1' | awk '{print \$1}' | head -n 1)
      [ -n "\$p" ] && kill -USR1 "\$p" && echo "signalled \$p"
      while true; do echo "ps: \$(ps | tr '\n' '|')"; sleep 1; done
Y
}
# The last `ps` line container b of pod $1 logged.
b_ps() { kubectl logs "$1" -c b 2>/dev/null | grep '^ps: ' | tail -n 1; }

pod shared true
pod own false
wait_running shared 90
wait_running own 90
wait_for 60 "b of the shared pod lists processes" -- sh_eval 'test -n "$(b_ps shared)"'
wait_for 60 "b of the own pod lists processes" -- sh_eval 'test -n "$(b_ps own)"'

PS=$(b_ps shared)
say "shared: $PS"
case $PS in *got-usr1*) pass "b sees a's process in the shared namespace" ;;
*) fail "b does not see a's process: $PS" ;; esac
expect_match "$PS" '\| *1 root +/pause *\|' "PID 1 of the shared namespace is the pause process"
wait_for 30 "b signalled a (a's trap ran)" -- sh_eval 'kubectl logs shared -c a | grep -q got-usr1'
PS=$(b_ps own)
say "own: $PS"
case $PS in *got-usr1*) fail "b sees a's process without shareProcessNamespace: $PS" ;;
*) pass "without shareProcessNamespace b does not see a" ;; esac
expect_match "$PS" '\| *1 root .*sh -c' "without it b's own shell is PID 1 of its namespace"
kubectl logs own -c b | grep -q '^signalled' && fail "b signalled a process it should not see" ||
    pass "without it b finds nothing to signal"

STATE=$(pod_dir shared)/state.json
PIDNS=$(jq -r .pidns "$STATE")
PAUSE=${PIDNS#/proc/}; PAUSE=${PAUSE%/ns/pid}
proc_running "$PAUSE" && pass "the shim's state names the running pause ($PAUSE)" ||
    fail "no pause process: pidns=$PIDNS"
expect_eq "$(jq -r '.linux.namespaces[] | select(.type == "pid") | .path' \
    "$(pod_dir shared)/ctr/b/config.json")" "$PIDNS" "b's config.json joins the pause's PID namespace"
expect_eq "$(readlink "/proc/$(ctr_pid shared a)/ns/pid")" "$(readlink "$PIDNS")" \
    "a runs in that namespace"

# a restarts; b runs on, untouched; the new a is in the same namespace.
restart_a() { # restart_a EXPECTED-RESTART-COUNT
    local bpid apid
    bpid=$(ctr_pid shared b); apid=$(ctr_pid shared a)
    kill -KILL "$apid"
    wait_for 60 "a restarted ($1)" -- sh_eval \
        "test \"\$(pod_field shared '.status.containerStatuses[0].restartCount')\" = $1 && test \"\$(pod_field shared '.status.containerStatuses[0].state.running.startedAt')\" != ''"
    wait_for 30 "the new a runs" -- sh_eval "test -n \"\$(ctr_pid shared a)\" && test \"\$(ctr_pid shared a)\" != $apid && proc_running \"\$(ctr_pid shared a)\""
    expect_eq "$(ctr_pid shared b)" "$bpid" "b runs the same process after a's restart"
    proc_running "$bpid" && pass "b's process is alive" || fail "b died with a"
    expect_eq "$(pod_field shared '.status.containerStatuses[1].restartCount')" "0" "b was not restarted"
    expect_eq "$(readlink "/proc/$(ctr_pid shared a)/ns/pid")" "$(readlink "$PIDNS")" \
        "the restarted a joined the same namespace"
}
restart_a 1

# kill -9 of the server: pause, shim and containers run on; the re-adopted pod's next restart
# of a joins the same namespace.
kill -KILL "$KROLL_SERVER_PID"
wait "$KROLL_SERVER_PID" 2>/dev/null
proc_running "$PAUSE" && pass "the pause survives the server" || fail "the pause died with the server"
kroll_start --runtime=runc
sleep 3
restart_a 2

kubectl delete pod shared own --timeout=90s >/dev/null
wait_for 30 "the pause is gone with its pod" -- sh_eval "! proc_running $PAUSE"

# A pause killed from the host takes the namespace and every process in it: the shim stops, and
# the kubelet makes a new sandbox whose new namespace both containers join.
pod lost true
wait_running lost 90
OLDNS=$(jq -r .pidns "$(pod_dir lost)/state.json")
OLDP=${OLDNS#/proc/}; OLDP=${OLDP%/ns/pid}
OLDB=$(ctr_pid lost b)
kill -KILL "$OLDP"
wait_for 90 "a new sandbox runs both containers again" -- sh_eval \
    "test \"\$(jq -r .pidns \"\$(pod_dir lost)/state.json\")\" != $OLDNS && test -n \"\$(b_ps lost)\" && test \"\$(ctr_pid lost b)\" != $OLDB && proc_running \"\$(ctr_pid lost b)\" && proc_running \"\$(ctr_pid lost a)\""
proc_running "$OLDB" && fail "b of the lost namespace survived" || pass "b died with its namespace"
NEWNS=$(jq -r .pidns "$(pod_dir lost)/state.json")
expect_eq "$(readlink "/proc/$(ctr_pid lost a)/ns/pid")" "$(readlink "$NEWNS")" "a is in the new namespace"
expect_eq "$(readlink "/proc/$(ctr_pid lost b)/ns/pid")" "$(readlink "$NEWNS")" "b is in the new namespace"
pods_gone
finish
