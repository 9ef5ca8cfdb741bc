#!/usr/bin/env bash
# t0622: when a pod's shim is killed (kill -9), its runc container would live on unsupervised
# (runc gives no parent-death signal): the kubelet deletes it with the runtime before starting a
# new shim, so the old init is gone and the container runs again under the new shim. Also runs
# the root filesystem as a copy of the layers (KROLL_ROOTFS_COPY=1, as where overlayfs is
# missing), which the kubelet reports as a RootfsCopied event; rootfs writes still stay in the
# container and are discarded on restart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
KROLL_ROOTFS_COPY=1 kroll_start --runtime=runc
bbimage test/bb

cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: orphan}
spec:
  containers:
  - name: c
    image: test/bb
    command: ["sh", "-c", "ls /was-here 2>/dev/null && echo stale-rootfs; touch /was-here; echo up; exec sleep 1000"]
Y
wait_running orphan 60
wait_for 30 "orphan logged up" -- sh_eval 'kubectl logs orphan | grep -q up'
expect_match "$(kubectl get events --field-selector involvedObject.name=orphan -o jsonpath='{.items[*].reason}')" \
    RootfsCopied "the copied rootfs is reported as an event"
grep -q "$(pod_dir orphan)/ctr/c/rootfs" /proc/mounts && fail "rootfs is a mount despite KROLL_ROOTFS_COPY" ||
    pass "the rootfs is a plain copy"
[ -e /was-here ] && fail "a rootfs write reached the host" || pass "rootfs writes stay in the copy"
OLD=$(ctr_pid orphan c)
SHIM=$(cat "$(pod_dir orphan)/shim.pid")
kill -KILL "$SHIM"
wait_for 60 "a new shim runs the container again" -- sh_eval \
    "test -n \"\$(ctr_pid orphan c)\" && test \"\$(ctr_pid orphan c)\" != $OLD && test \"\$(kubectl get pod orphan -o jsonpath='{.status.containerStatuses[0].state.running}')\" != ''"
proc_running "$OLD" && fail "the old container's init $OLD still runs" ||
    pass "the old container was deleted with the runtime"
expect_eq "$(runc --root "$KROLL_DATA/runc" list -q | wc -l)" "1" "one runc container for the pod"
expect_match "$(pod_field orphan '.status.containerStatuses[0].lastState.terminated.reason')" \
    ContainerStatusUnknown "the lost instance is reported as ContainerStatusUnknown"
wait_for 30 "the new instance started on a fresh rootfs" -- sh_eval \
    'test "$(kubectl logs orphan | grep -c up)" -ge 1 && ! kubectl logs orphan | grep -q stale-rootfs'
kubectl delete pod orphan --timeout=60s >/dev/null
expect_eq "$(ls "$KROLL_DATA/runc")" "" "no runc state remains"
finish
