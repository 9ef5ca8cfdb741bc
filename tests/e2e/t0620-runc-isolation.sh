#!/usr/bin/env bash
# t0620: pods under --runtime=runc are containers, seen from the user's side with kubectl: the
# pod sees its own root (not the data dir, no token, no CA key), `ps` shows only its processes,
# a write to a volume's mountPath stays in the container, CapEff is containerd's default set
# for root and 0 for runAsUser 1000, NoNewPrivs is 1, /etc/hosts and hostname are the pod's,
# the termination log becomes the terminated state's message, runAsNonRoot with an image
# running as root is refused with the kubelet's CreateContainerConfigError, and
# readOnlyRootFilesystem holds. `kubectl delete pod` leaves no mount, cgroup or runc state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
kroll_start --runtime=runc
bbimage test/bb

cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: iso}
spec:
  restartPolicy: Never
  volumes: [{name: scratch, emptyDir: {}}]
  containers:
  - name: c
    image: test/bb
    command: ["sh", "-c"]
    args:
    - |
      echo "root: \$(ls / | tr '\n' ' ')"
      test -e "$KROLL_DATA/kubeconfig" && echo "datadir: visible" || echo "datadir: absent"
      test -e "$KROLL_DATA/pki/ca.key" && echo "cakey: visible" || echo "cakey: absent"
      echo "procs: \$(ps -o comm | tail -n +2 | sort | tr '\n' ' ')"
      grep -E '^(CapEff|NoNewPrivs)' /proc/1/status | tr -d '\t'
      echo "hostname: \$(hostname)"
      grep -q "iso\$" /etc/hosts && echo "hosts: has pod"
      echo hello > /made-here/by-pod/f && echo "volume: written"
      touch /rootfs-write && echo "rootfs: writable"
      echo "bye from iso" > /dev/termination-log
      sleep 3
    volumeMounts: [{name: scratch, mountPath: /made-here/by-pod}]
---
apiVersion: v1
kind: Pod
metadata: {name: user1000}
spec:
  restartPolicy: Never
  securityContext: {runAsUser: 1000, runAsGroup: 1000}
  containers:
  - name: c
    image: test/bb
    command: ["sh", "-c", "id; grep CapEff /proc/self/status | tr -d '\t'; touch /ro && echo ro-broken || echo ro-holds; sleep 3"]
    securityContext: {readOnlyRootFilesystem: true}
---
apiVersion: v1
kind: Pod
metadata: {name: nonroot}
spec:
  securityContext: {runAsNonRoot: true}
  containers:
  - {name: c, image: test/bb, command: ["sleep", "100"]}
Y

wait_for 60 "iso ran to completion" -- sh_eval \
    'test "$(kubectl get pod iso -o jsonpath="{.status.phase}")" = Succeeded'
LOG=$(kubectl logs iso)
expect_match "$LOG" 'root: bin dev etc made-here proc sys tmp (var )?www ' "the pod sees its image's root"
expect_match "$LOG" 'datadir: absent' "the data dir is not visible"
expect_match "$LOG" 'cakey: absent' "the CA key is not visible"
# Only the pipeline's own processes: busybox ash runs applets by re-executing /proc/self/exe,
# so a pipeline stage may still be named "exe" when ps reads it.
expect_match "$LOG" 'procs: ((exe|ps|sh|sort|tail|tr) )+$' "ps shows only the pod's processes (sh, its subshells, the pipeline)"
expect_match "$LOG" 'CapEff:00000000a80425fb' "root gets containerd's default capabilities"
expect_match "$LOG" 'NoNewPrivs:1' "no_new_privs is set by default"
expect_match "$LOG" 'hostname: iso' "the hostname is the pod's name"
expect_match "$LOG" 'hosts: has pod' "/etc/hosts names the pod"
expect_match "$LOG" 'volume: written' "the volume is mounted at its mountPath"
expect_match "$LOG" 'rootfs: writable' "the root filesystem is writable by default"
[ -e /made-here ] && fail "mountPath created on the host's /" || pass "nothing created on the host's /"
[ -e /rootfs-write ] && fail "a rootfs write reached the host" || pass "rootfs writes stay in the container"
expect_eq "$(pod_field iso '.status.containerStatuses[0].state.terminated.message')" \
    "bye from iso" "the termination log is the terminated state's message"

wait_for 60 "user1000 ran" -- sh_eval 'kubectl logs user1000 | grep -q ro-'
LOG=$(kubectl logs user1000)
expect_match "$LOG" 'uid=1000\(app\) gid=1000\(app\)' "runAsUser/runAsGroup apply"
expect_match "$LOG" 'CapEff:0000000000000000' "a non-root user has no effective capabilities"
expect_match "$LOG" 'ro-holds' "readOnlyRootFilesystem holds"

wait_for 30 "nonroot is refused" -- sh_eval \
    'test "$(kubectl get pod nonroot -o jsonpath="{.status.containerStatuses[0].state.waiting.reason}")" = CreateContainerConfigError'
expect_match "$(pod_field nonroot '.status.containerStatuses[0].state.waiting.message')" \
    '^container has runAsNonRoot and image will run as root \(pod: "nonroot_default\(.*\)", container: c\)$' \
    "the kubelet's runAsNonRoot message"
expect_eq "$(ls "$(pod_dir nonroot)/ctr/c/pid" 2>/dev/null)" "" "nothing was started for nonroot"

# Deleting leaves nothing behind: no rootfs mount, no cgroup of the pod, no runc state.
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: gone}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - {name: c, image: test/bb, command: ["sleep", "1000"]}
Y
wait_running gone 60
UID_GONE=$(pod_uid gone)
PID_GONE=$(ctr_pid gone c)
PIDS_CG=$(ctr_cgroup gone c pids)
[ -d "$PIDS_CG" ] && pass "the container has a pids cgroup ($PIDS_CG)" || fail "no pids cgroup for gone"
grep -q "$KROLL_DATA" /proc/mounts && pass "the rootfs is mounted while the pod runs" ||
    fail "no rootfs mount while the pod runs"
kubectl delete pod gone iso user1000 nonroot --timeout=60s >/dev/null
wait_for 30 "the pods are gone" -- sh_eval 'test -z "$(kubectl get pods -o name)"'
expect_eq "$(grep -c "$KROLL_DATA" /proc/mounts)" "0" "no mount under the data dir remains"
expect_eq "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "pod$UID_GONE" 2>/dev/null)" "" \
    "no cgroup of the pod remains"
expect_eq "$(ls "$KROLL_DATA/runc")" "" "no runc state remains"
proc_running "$PID_GONE" && fail "the container's init $PID_GONE survived" ||
    pass "the container's init is gone"
finish
