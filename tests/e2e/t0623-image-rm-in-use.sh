#!/usr/bin/env bash
# t0623: `kroll image rm` of the image a running container is stacked on untags it but keeps the
# layers the container's overlay root is made of (the container goes on reading its files);
# once the pod is deleted, the next rm finds the layers unreferenced and removes them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
kroll_start --runtime=runc
bbimage test/inuse
bbimage test/other '{"Cmd":["sh"],"Env":["PATH=/bin","OTHER=1"]}'

cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: user}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: test/inuse
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do cat /www/index.html >/tmp/seen; sleep 0.2; done"]
Y
wait_running user 60
layers_before=$(ls "$KROLL_DATA/images/layers" | wc -l)
expect_rc 0 "image rm of the running image" -- "$KROLL_BIN" image rm test/inuse --data-dir "$KROLL_DATA"
"$KROLL_BIN" image ls --data-dir "$KROLL_DATA" | grep -q 'test/inuse' && fail "test/inuse still listed" ||
    pass "test/inuse is no longer listed"
expect_eq "$(ls "$KROLL_DATA/images/layers" | wc -l)" "$layers_before" \
    "the running container's layers are kept"
dir=$(pod_dir user)
rm -f "$dir/ctr/c/rootfs/tmp/seen"
wait_for 20 "the container still reads its image's files" -- sh_eval \
    "test \"\$(cat '$dir/ctr/c/rootfs/tmp/seen' 2>/dev/null)\" = ok"
expect_eq "$(pod_field user '.status.containerStatuses[0].restartCount')" 0 \
    "the container runs on, unrestarted"

kubectl delete pod user --timeout=60s >/dev/null
wait_for 60 "the pod dir is removed" -- sh_eval "test ! -e '$dir'"
expect_rc 0 "image rm of the other image" -- "$KROLL_BIN" image rm test/other --data-dir "$KROLL_DATA"
expect_eq "$(ls "$KROLL_DATA/images/layers" | wc -l)" 0 \
    "with no pod left, the layers go with the last tag"
finish
