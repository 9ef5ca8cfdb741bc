#!/usr/bin/env bash
# t0643: seccompProfile of pods run by runc, seen from inside the containers and with kubectl:
# RuntimeDefault (set on the pod) gives "Seccomp: 2" in /proc/1/status and unshare(2) fails;
# a container's Unconfined overrides the pod's RuntimeDefault ("Seccomp: 0"); a Localhost
# profile under <data-dir>/seccomp is enforced (mkdir fails with its errno, the rest runs); a
# missing Localhost profile leaves the container waiting in CreateContainerError with the
# loader's message and a Failed event; privileged containers get no profile.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
grep -q '^Seccomp:' /proc/self/status || { say "SKIP: the kernel has no seccomp"; exit 0; }
kroll_start --runtime=runc
bbimage test/bb

mkdir -p "$KROLL_DATA/seccomp/profiles"
cat >"$KROLL_DATA/seccomp/profiles/no-mkdir.json" <<'EOF2'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
EOF2

cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: sc-default}
spec:
  securityContext: {seccompProfile: {type: RuntimeDefault}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: rd
    image: test/bb
    command: ["sh", "-c", "grep Seccomp: /proc/1/status; if unshare -U true 2>/dev/null; then echo unshare=ok; else echo unshare=denied; fi; sleep 1000"]
  - name: unconfined
    image: test/bb
    securityContext: {seccompProfile: {type: Unconfined}}
    command: ["sh", "-c", "grep Seccomp: /proc/1/status; sleep 1000"]
  - name: priv
    image: test/bb
    securityContext: {privileged: true}
    command: ["sh", "-c", "grep Seccomp: /proc/1/status; sleep 1000"]
---
apiVersion: v1
kind: Pod
metadata: {name: sc-local}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: test/bb
    securityContext: {seccompProfile: {type: Localhost, localhostProfile: profiles/no-mkdir.json}}
    command: ["sh", "-c", "grep Seccomp: /proc/1/status; mkdir /tmp/d; echo mkdir=$?; ls / >/dev/null && echo ls=ok; sleep 1000"]
---
apiVersion: v1
kind: Pod
metadata: {name: sc-missing}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {seccompProfile: {type: Localhost, localhostProfile: profiles/nothing.json}}
  containers:
  - name: c
    image: test/bb
    command: ["sh", "-c", "echo ran; sleep 1000"]
Y

wait_running sc-default 60 && wait_running sc-local 60
logs() { kubectl logs "$1" -c "$2" 2>&1; }
wait_for 30 "the containers have written their findings" -- sh_eval \
    'logs sc-default rd | grep -q unshare= && logs sc-local c | grep -q ls=ok'
expect_match "$(logs sc-default rd)" 'Seccomp:[[:space:]]*2' "RuntimeDefault (pod): the container is filtered"
expect_match "$(logs sc-default rd)" 'unshare=denied' "RuntimeDefault: unshare(2) is denied"
expect_match "$(logs sc-default unconfined)" 'Seccomp:[[:space:]]*0' "Unconfined (container over pod): no filter"
expect_match "$(logs sc-default priv)" 'Seccomp:[[:space:]]*0' "privileged: no filter"
expect_match "$(logs sc-local c)" 'Seccomp:[[:space:]]*2' "Localhost: the container is filtered"
expect_match "$(logs sc-local c)" 'mkdir=1' "Localhost: mkdir is denied by the profile"
expect_match "$(logs sc-local c)" 'Permission denied' "Localhost: with the profile's errno (EACCES)"
expect_match "$(logs sc-local c)" 'ls=ok' "Localhost: the rest is allowed"

reason() { kubectl get pod sc-missing -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}'; }
wait_for 60 "a missing Localhost profile: CreateContainerError" -- sh_eval 'test "$(reason)" = CreateContainerError'
msg=$(kubectl get pod sc-missing -o jsonpath='{.status.containerStatuses[0].state.waiting.message}')
expect_match "$msg" 'profiles/nothing.json' "the waiting message names the profile"
say "message: $msg"
expect_match "$(kubectl describe pod sc-missing)" 'Failed.*profiles/nothing.json' "kubectl describe shows the Failed event"
expect_eq "$(kubectl get pod sc-missing -o jsonpath='{.status.phase}')" Pending "the pod stays Pending"
case "$(kubectl logs sc-missing 2>&1)" in *ran*) fail "the container ran unconfined" ;; *) pass "nothing ran" ;; esac

pods_gone
finish
