#!/bin/bash
# t1095: the tutorial's "common mistakes" as API warnings that kubectl prints (each naming its
# field and the fix, none blocking), as errors with --lint=error, and offline with
# `kroll lint -f`: an unpinned image, no readinessProbe, maxUnavailable dropping a small
# Deployment's capacity, Recreate, a grace period shorter than the preStop sleep, too little
# revision history, a GPU surge the node cannot hold, no PodDisruptionBudget once the object
# exists. The tutorial's own manifests get none, and scaling is not linted.
. "$(dirname "$0")/lib.sh"

kroll_start --node-resource nvidia.com/gpu=2
TUT=$KROLL_SRC/examples/tutorial
cat >"$TEST_DIR/bad.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: 2
  revisionHistoryLimit: 1
  selector: {matchLabels: {app: bad}}
  strategy: {rollingUpdate: {maxUnavailable: 1, maxSurge: 1}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: s
        image: myrepo/tf-serving:latest
        ports: [{containerPort: 8501}]
        lifecycle: {preStop: {exec: {command: ["sleep", "10"]}}}
      - {name: side, image: busybox}
YAML
out=$(kubectl apply -f "$TEST_DIR/bad.yaml" 2>&1)
expect_match "$out" "deployment.apps/bad created" "warnings do not block the create"
for w in \
    'Warning: spec.template.spec.containers\[0\].image: "myrepo/tf-serving:latest" uses the latest tag, which moves; pin a version tag or a digest' \
    'Warning: spec.template.spec.containers\[1\].image: "busybox" has no tag, so it means :latest' \
    'Warning: spec.template.spec.containers\[0\].readinessProbe: not set, .*add a readinessProbe on a health endpoint' \
    'Warning: spec.template.spec.terminationGracePeriodSeconds: 5 is not longer than the preStop sleep of 10s of containers\[0\].*make it at least 20' \
    'Warning: spec.strategy.rollingUpdate.maxUnavailable: 1 of 2 replicas lets a rollout go down to 1 available pod; set maxUnavailable: 0 with maxSurge: 1' \
    'Warning: spec.revisionHistoryLimit: 1 keeps too few old ReplicaSets for `kubectl rollout undo`.*keep at least 2'; do
    expect_match "$out" "$w" "create warns: ${w:9:60}..."
done
expect_eq "$(grep -c 'containers\[1\].lifecycle.preStop' <<<"$out")" "0" "a container without ports needs no preStop"
expect_eq "$(grep -c PodDisruptionBudget <<<"$out")" "0" "no PDB warning on create (the PDB may come next)"
expect_eq "$(kubectl scale deploy bad --replicas=3 2>&1)" "deployment.apps/bad scaled" "scaling is not linted"
out=$(kubectl set image deploy/bad s=myrepo/tf-serving:1.0.4 2>&1)
expect_match "$out" 'Warning: spec.template.metadata.labels: no PodDisruptionBudget selects these pods, so a node drain can evict them all at once' \
    "an update of an existing Deployment without a PDB warns"
expect_eq "$(grep -c 'containers\[0\].image' <<<"$out")" "0" "the pinned image no longer warns"
kubectl create pdb bad --selector=app=bad --min-available=1 >/dev/null
expect_eq "$(kubectl set image deploy/bad s=myrepo/tf-serving:1.0.5 2>&1 | grep -c PodDisruptionBudget)" "0" \
    "with a PDB selecting the pods: no PDB warning"
expect_rc 1 "kubectl --warnings-as-errors turns them into a failure" -- \
    kubectl set image deploy/bad s=myrepo/tf-serving:1.0.6 --warnings-as-errors
expect_match "$(cat "$TEST_DIR/out")" '[0-9]+ warnings received' "saying how many"

# The tutorial's manifests follow its own advice: no warning at all.
for f in deployment service pdb exercise1-deployment blue-green; do
    out=$(kubectl apply -f "$TUT/$f.yaml" 2>&1)
    expect_eq "$(grep -c Warning <<<"$out")" "0" "the tutorial's $f.yaml: no warnings"
done
# Two one-GPU replicas on a two-GPU node: the default surge pod cannot be placed.
out=$(kubectl apply -f "$TUT/gpu-deployment.yaml" 2>&1)
expect_match "$out" 'Warning: spec.strategy.rollingUpdate.maxSurge: 1 surge pod needs 3 nvidia.com/gpu with the replicas but the node has 2 free, so a rollout will stall' \
    "a GPU surge the node cannot hold warns"
out=$(kubectl patch deployment classifier-gpu -p '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}}}' 2>&1)
expect_eq "$(grep -c 'rollingUpdate' <<<"$out")" "0" "the tutorial's fix (maxSurge 0, maxUnavailable 1) is not flagged"

# Argo Rollouts get the same rules: a canary's maxUnavailable, a blue/green preview's GPUs.
cat >"$TEST_DIR/ro.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: ro}
spec:
  replicas: 3
  selector: {matchLabels: {app: ro}}
  strategy:
    canary: {maxUnavailable: 1, steps: [{setWeight: 20}, {pause: {}}]}
  template:
    metadata: {labels: {app: ro}}
    spec:
      containers:
      - {name: s, image: "myrepo/tf-serving:latest"}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: robg}
spec:
  replicas: 2
  selector: {matchLabels: {app: robg}}
  strategy:
    blueGreen: {activeService: robg}
  template:
    metadata: {labels: {app: robg}}
    spec:
      containers:
      - name: s
        image: myrepo/tf-serving:1.0.3
        readinessProbe: {httpGet: {path: /v1/models/classifier, port: 8501}}
        resources: {limits: {nvidia.com/gpu: 1}}
YAML
out=$(kubectl apply -f "$TEST_DIR/ro.yaml" 2>&1)
expect_match "$out" "rollout.argoproj.io/ro created" "a Rollout with mistakes is created"
expect_match "$out" 'Warning: spec.strategy.canary.maxUnavailable: 1 of 3 replicas lets a rollout go down to 2 available pods' \
    "a canary Rollout's maxUnavailable warns, naming its own field"
expect_match "$out" 'Warning: spec.template.spec.containers\[0\].image: "myrepo/tf-serving:latest" uses the latest tag' \
    "a Rollout's unpinned image warns"
expect_match "$out" "Warning: spec.strategy.blueGreen.previewReplicaCount: the preview's 2 pods need 4 nvidia.com/gpu with the active ones but the node has [0-9]+ free" \
    "a blue/green Rollout whose preview the GPUs cannot hold warns"
expect_eq "$(kubectl scale rollout ro --replicas=4 2>&1 | grep -c Warning)" "0" "scaling a Rollout is not linted"
expect_rc 1 "kroll lint finds a Rollout's mistakes offline" -- "$KROLL_BIN" lint -f "$TEST_DIR/ro.yaml"
expect_match "$(cat "$TEST_DIR/out")" 'ro.yaml: Rollout/ro: Warning: spec.strategy.canary.maxUnavailable: 1 of 3 replicas' \
    "offline: one line per finding, naming the Rollout"
kubectl delete -f "$TEST_DIR/ro.yaml" --wait=false >/dev/null

# --lint=error: the same findings refuse the write, 422 with every field as a cause.
kroll_stop
kroll_start --lint=error
out=$(kubectl apply -f "$TEST_DIR/bad.yaml" 2>&1)
expect_match "$out" 'The Deployment "bad" is invalid' "--lint=error refuses the write"
expect_match "$out" 'spec.revisionHistoryLimit: Invalid value: .*|spec.revisionHistoryLimit: 1 keeps too few' "naming the fields"
expect_match "$(kubectl get deploy bad -o jsonpath='{.spec.template.spec.containers[0].image}' 2>&1)" \
    "myrepo/tf-serving:1.0.6" "and stores nothing (the last good spec stays)"
expect_match "$(kubectl apply -f "$TUT/deployment.yaml" 2>&1)" "deployment.apps/model-serving (created|configured)" \
    "a clean manifest still applies"

# Offline: the same rules, a PDB in the same files counts.
expect_rc 1 "kroll lint finds the mistakes (exit 1)" -- "$KROLL_BIN" lint -f "$TEST_DIR/bad.yaml"
expect_match "$(cat "$TEST_DIR/out")" 'bad.yaml: Deployment/bad: Warning: spec.revisionHistoryLimit: 1 keeps too few' "one line per finding"
expect_rc 0 "the tutorial's Deployment with its PDB is clean" -- "$KROLL_BIN" lint -f "$TUT/deployment.yaml" -f "$TUT/pdb.yaml"
expect_rc 1 "without its PDB it is not" -- "$KROLL_BIN" lint -f "$TUT/deployment.yaml"
printf 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: l}, spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: "r/x"}]}}}}\n' >"$TEST_DIR/list.yaml"
expect_rc 1 "a List's items are linted" -- sh -c "\"$KROLL_BIN\" lint -f - <\"$TEST_DIR/list.yaml\""
expect_match "$(cat "$TEST_DIR/out")" '-: Deployment/l: Warning: spec.template.spec.containers\[0\].image: "r/x" has no tag' "from stdin"
printf 'kind: [\n' >"$TEST_DIR/broken.yaml"
expect_rc 2 "a file that does not parse: exit 2" -- "$KROLL_BIN" lint -f "$TEST_DIR/broken.yaml"
expect_match "$(cat "$TEST_DIR/out")" 'broken.yaml: .*line' "with the place"
expect_rc 2 "a missing file: exit 2" -- "$KROLL_BIN" lint -f "$TEST_DIR/nosuch.yaml"
finish
