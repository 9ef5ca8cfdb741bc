#!/usr/bin/env bash
# t0413: a pod whose labels and annotations carry the well-known dotted keys
# (app.kubernetes.io/name, ...) runs, and its downwardAPI volume, projected volume and env
# fieldRefs show the right content. Keys are data, not paths: before issue 10's fix the volume
# renderer overran a heap buffer on such keys (the server crashed or corrupted memory).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
node_skip_checks
kroll_start
M=$TEST_DIR/mnt
mkimage test/downward "while :; do echo \"env=\$APP_NAME|\$PART_OF|\$ANN\"; sleep 0.3; done"
LONG=$(printf 'q"%.0s' $(seq 1 600))
cat <<Y | kubectl create -f - >/dev/null
apiVersion: v1
kind: Pod
metadata:
  name: dotted
  labels: {app.kubernetes.io/name: web, app.kubernetes.io/part-of: shop, tier: a.b}
  annotations:
    example.com/note: '$LONG'
spec:
  volumes:
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
      - {path: name, fieldRef: {fieldPath: "metadata.labels['app.kubernetes.io/name']"}}
  - name: proj
    projected:
      sources:
      - downwardAPI:
          items:
          - {path: labels, fieldRef: {fieldPath: metadata.labels}}
          - {path: part, fieldRef: {fieldPath: "metadata.labels['app.kubernetes.io/part-of']"}}
  containers:
  - name: main
    image: test/downward
    env:
    - {name: APP_NAME, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app.kubernetes.io/name']"}}}
    - {name: PART_OF, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app.kubernetes.io/part-of']"}}}
    - {name: ANN, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['example.com/note']"}}}
    volumeMounts:
    - {name: info, mountPath: $M/info}
    - {name: proj, mountPath: $M/proj}
Y
wait_for 30 "pod with dotted label keys Running" -- phase_is dotted Running
want_env="env=web|shop|$LONG"
env_ok() { [ "$(kubectl logs dotted --tail=1 2>/dev/null)" = "$want_env" ]; }
wait_for 20 "env fieldRefs with dotted keys" -- env_ok
PUID=$(jp dotted '{.metadata.uid}')
VD=$KROLL_DATA/pods/$PUID/volumes
want_labels=$(printf 'app.kubernetes.io/name="web"\napp.kubernetes.io/part-of="shop"\ntier="a.b"')
expect_eq "$(cat "$VD/info/labels")" "$want_labels" "downwardAPI metadata.labels file"
want_ann="example.com/note=\"${LONG//\"/\\\"}\""
# The kubelet's own kroll.dev/netns annotation appears once a refresh (the token renewal pass, 2 s
# after start) rewrites the file after the kubelet published it: all annotations are shown.
expect_eq "$(grep -v '^kroll.dev/netns=' "$VD/info/annotations")" "$want_ann" \
    "downwardAPI metadata.annotations file (escaped)"
expect_eq "$(cat "$VD/info/name")" "web" "downwardAPI metadata.labels['app.kubernetes.io/name']"
expect_eq "$(cat "$VD/proj/labels")" "$want_labels" "projected metadata.labels file"
expect_eq "$(cat "$VD/proj/part")" "shop" "projected metadata.labels['app.kubernetes.io/part-of']"
expect_eq "$(api_curl /healthz)" "ok" "server still serving"
finish
