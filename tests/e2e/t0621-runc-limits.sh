#!/usr/bin/env bash
# t0621: resource limits and supervision of runc containers: a memory hog over limits.memory
# 32Mi is OOMKilled (exit 137) and restarted; a fork bomb is held at the pids limit while the
# pod stays and the host can still fork; a child that daemonizes (setsid, double fork) dies with
# its pod (checked by PID from the host); readiness (httpGet) and liveness (exec) probes work;
# after kill -9 of the server and a restart the running container is re-adopted (same PID, no
# restart).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
kroll_start --runtime=runc --pod-pids-limit 64
bbimage test/bb

cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Always
  containers:
  - name: c
    image: test/bb
    command: ["sh", "-c", "echo start; x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"]
    resources: {limits: {memory: 32Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: bomb}
spec:
  containers:
  - name: c
    image: test/bb
    command: ["sh", "-c", "bomb() { bomb | bomb & }; bomb; echo bombed; sleep 1000"]
---
apiVersion: v1
kind: Pod
metadata: {name: daemon}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: test/bb
    command: ["sh", "-c", "setsid sh -c 'sleep 1000 & exit 0'; echo daemonized; exec sleep 1000"]
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: c
    image: test/bb
    command: ["sh", "-c", "touch /tmp/kroll-t0621-alive; exec httpd -f -p 8080 -h /www"]
    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
    livenessProbe:
      exec: {command: ["cat", "/tmp/kroll-t0621-alive"]}
      periodSeconds: 1
      failureThreshold: 2
Y

# Memory: the kernel's OOM killer ends the hog inside its cgroup; the kubelet says so.
wait_for 90 "hog is OOMKilled and restarted" -- sh_eval \
    'test "$(kubectl get pod hog -o jsonpath="{.status.containerStatuses[0].lastState.terminated.reason}")" = OOMKilled'
expect_eq "$(pod_field hog '.status.containerStatuses[0].lastState.terminated.exitCode')" "137" \
    "the OOM kill is exit 137"
[ "$(pod_field hog '.status.containerStatuses[0].restartCount')" -ge 1 ] &&
    pass "hog was restarted" || fail "hog was not restarted"
oom_ev=$(kubectl get events -A --field-selector reason=SystemOOM -o jsonpath='{range .items[*]}{.involvedObject.kind} {.type} {.message}{"\n"}{end}')
expect_match "$oom_ev" '^Node Warning System OOM encountered, victim process: sh, pid: [0-9]+' \
    "a SystemOOM Warning event on the Node, as upstream's kubelet records it"
expect_eq "$(pod_field hog '.status.qosClass')" "Burstable" "a memory limit alone is Burstable"
expect_eq "$(jq .linux.resources.memory.limit "$(pod_dir hog)/ctr/c/config.json")" "33554432" \
    "the container's memory limit is 32Mi"

# Pids: the bomb fills its cgroup up to the limit and no further.
wait_running bomb 60
wait_for 60 "the bomb ran into the pids limit" -- sh_eval 'kubectl logs bomb | grep -q bombed'
PIDS_CG=$(ctr_cgroup bomb c pids)
expect_eq "$(cat "$PIDS_CG/pids.max")" "64" "pids.max is the --pod-pids-limit"
n=$(cat "$PIDS_CG/pids.current")
[ "$n" -le 64 ] && pass "the bomb holds $n pids (<= 64)" || fail "the bomb holds $n pids"
/bin/true && pass "the host still forks" || fail "the host cannot fork"
expect_eq "$(pod_field bomb '.status.phase')" "Running" "the bomb's pod stays Running"

# A daemonized grandchild is in the container's cgroup, and dies with the pod.
wait_running daemon 60
wait_for 30 "daemon daemonized" -- sh_eval 'kubectl logs daemon | grep -q daemonized'
DPIDS=$(cat "$(ctr_cgroup daemon c pids)/cgroup.procs" | tr '\n' ' ')
[ "$(echo $DPIDS | wc -w)" -ge 2 ] && pass "the container runs init and the daemon ($DPIDS)" ||
    fail "expected the init and the daemon in the cgroup, got: $DPIDS"

# Probes: httpGet readiness through the pod's network namespace, exec liveness with runc exec.
wait_for 60 "web is Ready (httpGet readiness probe)" -- sh_eval \
    'test "$(kubectl get pod web -o jsonpath="{.status.containerStatuses[0].ready}")" = true'
WEB_PID=$(ctr_pid web c)
sleep 3
expect_eq "$(pod_field web '.status.containerStatuses[0].restartCount')" "0" \
    "the exec liveness probe passes inside the container"

# kill -9 of the server: the shims and containers run on; a new server re-adopts them.
kill -KILL "$KROLL_SERVER_PID"
wait "$KROLL_SERVER_PID" 2>/dev/null
proc_running "$WEB_PID" && pass "web's container survives the server" || fail "web died with the server"
kroll_start --runtime=runc --pod-pids-limit 64
sleep 4
expect_eq "$(ctr_pid web c)" "$WEB_PID" "web runs the same container after the restart"
expect_eq "$(pod_field web '.status.containerStatuses[0].restartCount')" "0" "web was not restarted"
expect_eq "$(pod_field web '.status.containerStatuses[0].ready')" "true" "web is still Ready"

kubectl delete pod daemon bomb --timeout=90s >/dev/null
alive=""
for p in $DPIDS; do proc_running "$p" && alive="$alive $p"; done
expect_eq "$alive" "" "no process of the daemon pod survives its deletion"
kubectl delete pod hog web --timeout=90s >/dev/null
finish
