#!/usr/bin/env bash
# t0652: what the host lacks is reported, never silently weakened. On this host (everything
# present) the node condition KrollRuntimeDegraded is False. Then the server runs in a mount
# namespace of its own where overlayfs is missing from /proc/filesystems, the memory cgroup
# hierarchy is unmounted and the seccomp sysctls are hidden (the files runc and Docker read):
# the condition is True and names the three (kubectl describe node shows it, and a Warning
# event on the node); a pod with a memory limit and one asking for RuntimeDefault seccomp wait
# in CreateContainerError with a message naming what is missing and never run; a pod asking for
# neither runs, on a copied root (RootfsCopied event).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
grep -q ' /sys/fs/cgroup/memory .* - cgroup ' /proc/self/mountinfo ||
    { say "SKIP: no cgroup v1 memory hierarchy to hide"; exit 0; }
[ -f /proc/sys/kernel/seccomp/actions_avail ] || { say "SKIP: no seccomp sysctls"; exit 0; }

cond() { kubectl get node -o jsonpath="{.items[0].status.conditions[?(@.type==\"KrollRuntimeDegraded\")].$1}"; }

kroll_start --runtime=runc
expect_eq "$(cond status)" "False" "with every feature present the runtime is not degraded"
expect_eq "$(cond reason)" "RuntimeComplete" "reason RuntimeComplete"
kroll_stop

# The same server in a mount namespace where the three are gone (the server and everything it
# starts live in it; the host's mounts are untouched).
grep -v overlay /proc/filesystems >"$TEST_DIR/filesystems"
REAL_BIN=$KROLL_BIN
cat >"$TEST_DIR/kroll-hidden" <<W
#!/bin/sh
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/memory &&
    mount --bind "$TEST_DIR/filesystems" /proc/filesystems &&
    mount -t tmpfs none /proc/sys/kernel/seccomp && exec "\$0" "\$@"' "$REAL_BIN" "\$@"
W
chmod +x "$TEST_DIR/kroll-hidden"
KROLL_BIN=$TEST_DIR/kroll-hidden kroll_start --runtime=runc
bbimage test/bb
expect_eq "$(cond status)" "True" "the runtime is degraded"
expect_eq "$(cond reason)" "HostFeaturesMissing" "reason HostFeaturesMissing"
MSG=$(cond message)
say "condition: $MSG"
for w in overlayfs seccomp "memory cgroup controller"; do
    case $MSG in *"$w"*) pass "the condition names $w" ;; *) fail "the condition does not name $w" ;; esac
done
case $MSG in *"cpu cgroup"* | *"pids cgroup"*) fail "it names a controller that is present" ;;
*) pass "it names nothing that is present" ;; esac
kubectl describe node | grep -E 'KrollRuntimeDegraded +True +.*HostFeaturesMissing' >/dev/null &&
    pass "kubectl describe node shows it" || fail "kubectl describe node does not show it"
expect_eq "$(kubectl get events -o jsonpath='{range .items[?(@.reason=="HostFeaturesMissing")]}{.involvedObject.kind} {.type} {.message}{"\n"}{end}')" \
    "Node Warning $MSG" "a Warning event on the node says the same"

cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: mem}
spec:
  containers:
  - {name: c, image: test/bb, command: ["sleep", "1000"], resources: {limits: {memory: 64Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: sec}
spec:
  securityContext: {seccompProfile: {type: RuntimeDefault}}
  containers:
  - {name: c, image: test/bb, command: ["sleep", "1000"]}
---
apiVersion: v1
kind: Pod
metadata: {name: plain}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: test/bb, command: ["sleep", "1000"]}
Y
waiting() { pod_field "$1" '.status.containerStatuses[0].state.waiting.reason'; }
wait_for 60 "mem waits in CreateContainerError" -- sh_eval 'test "$(waiting mem)" = CreateContainerError'
wait_for 60 "sec waits in CreateContainerError" -- sh_eval 'test "$(waiting sec)" = CreateContainerError'
expect_match "$(pod_field mem '.status.containerStatuses[0].state.waiting.message')" \
    'memory limit.*no memory cgroup controller' "mem's message names the memory controller"
expect_match "$(pod_field sec '.status.containerStatuses[0].state.waiting.message')" \
    'RuntimeDefault.*no seccomp' "sec's message names seccomp"
kubectl get events --field-selector involvedObject.name=mem -o jsonpath='{.items[*].message}' |
    grep -q 'no memory cgroup controller' && pass "a Failed event says it" || fail "no event for mem"
expect_eq "$(ctr_pid mem c)" "" "mem never ran"
expect_eq "$(ctr_pid sec c)" "" "sec never ran"
wait_running plain 90
pass "a pod that asks for neither runs"
kubectl get events --field-selector involvedObject.name=plain,reason=RootfsCopied -o name | grep -q . &&
    pass "its root is a copy (RootfsCopied)" || fail "no RootfsCopied event"
FS=$(findmnt -n -N "$(ctr_pid plain c)" -o FSTYPE / 2>/dev/null)
[ -n "$FS" ] && [ "$FS" != overlay ] && pass "its root is a plain directory ($FS), not an overlay" ||
    fail "its root filesystem is [$FS]"

kubectl delete pod mem sec plain --timeout=90s >/dev/null
pods_gone
finish
