#!/usr/bin/env bash
# Checklist 52: updating a mounted ConfigMap changes the file in the running container without a
# restart, through an atomic ..data symlink swap; a subPath mount and env vars keep the old value.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
node_skip_checks
kroll_start
M=$TEST_DIR/mnt
mkimage test/cfgreader "touch $M/cfg/x 2>/dev/null && echo mount=rw || echo mount=ro; while :; do echo \"vol=\$(cat $M/cfg/greeting) sub=\$(cat $M/sub) env=\$GREETING\"; sleep 0.3; done"
kubectl create configmap cfg --from-literal=greeting=hello >/dev/null
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  volumes: [{name: cfg, configMap: {name: cfg}}]
  containers:
  - name: main
    image: test/cfgreader
    env: [{name: GREETING, valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}}]
    volumeMounts:
    - {name: cfg, mountPath: $M/cfg}
    - {name: cfg, mountPath: $M/sub, subPath: greeting}
Y
wait_for 20 "pod Running" -- phase_is reader Running
last() { kubectl logs reader --tail=1 2>/dev/null; }
first() { [ "$(last)" = "vol=hello sub=hello env=hello" ]; }
wait_for 10 "container sees the ConfigMap (volume, subPath, env)" -- first
PUID=$(jp reader '{.metadata.uid}')
VD=$KROLL_DATA/pods/$PUID/volumes/cfg
expect_match "$(readlink "$VD/..data")" '^\.\.[0-9]{4}_[0-9]{2}_[0-9]{2}_' "..data points at a timestamped dir"
expect_eq "$(readlink "$VD/greeting")" "..data/greeting" "key link through ..data"
OLD=$(readlink "$VD/..data")
expect_eq "$(kubectl logs reader | head -n 1)" "mount=ro" "configMap mount is read-only in the container"
[ -z "$(ls -A "$M/cfg" 2>/dev/null)" ] && pass "the host's mount target stays empty" || fail "files leaked onto the host path"

kubectl create configmap cfg --from-literal=greeting=bonjour --dry-run=client -o yaml | kubectl apply -f - >/dev/null 2>&1
updated() { [ "$(last)" = "vol=bonjour sub=hello env=hello" ]; }
wait_for 30 "file updated in place; subPath and env keep the old value" -- updated
expect_eq "$(jp reader '{.status.containerStatuses[0].restartCount}')" 0 "no restart"
NEW=$(readlink "$VD/..data")
[ "$NEW" != "$OLD" ] && pass "..data swapped to a new dir" || fail "..data not swapped"
[ ! -e "$VD/$OLD" ] && pass "old timestamped dir removed" || fail "old dir still there"
expect_eq "$(cat "$VD/greeting")" "bonjour" "host view of the volume"
finish
