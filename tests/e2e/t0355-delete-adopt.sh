#!/bin/bash
# t0355: cascading delete and annotation copy (e2e scenario 1), orphaning and re-adoption of the
# same RS without new pods (item 21, scenario 7), adoption of a pre-existing RS with a huge
# revision (scenario 2), revisionHistoryLimit 0 deleting the adopted RS (scenario 4).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start

# --- scenario 1 ---
dep_manifest del 2 test/app:1 | sed 's/^  labels: {app: del}$/  labels: {app: del}\n  annotations: {team: ml, owner: x}/' \
    >"$TEST_DIR/del.yaml"
kubectl apply -f "$TEST_DIR/del.yaml" >/dev/null
wait_for 30 "del complete" -- dep_complete del 2
rs=$(rs_names del)
ann=$(kubectl get rs "$rs" -o json | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["metadata"]["annotations"])))')
expect_eq "$ann" "deployment.kubernetes.io/desired-replicas deployment.kubernetes.io/max-replicas deployment.kubernetes.io/revision owner team" \
    "scenario 1: D annotations copied to the RS, except last-applied-configuration"
expect_match "$(dep_field del '.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration')" '"kind":"Deployment"' \
    "the Deployment itself has last-applied-configuration"
expect_eq "$(kubectl delete -f "$TEST_DIR/del.yaml")" 'deployment.apps "del" deleted' "delete output"
gone() { [ -z "$(kubectl get rs,pods -l app=del -o name)" ]; }
wait_for 20 "scenario 1 / item 21: RS and pods deleted with the Deployment" -- gone

# --- hash collision (k8s-semantics 3.1): a foreign RS already holds the name <d>-<hash> ---
kubectl apply -f - >/dev/null <<Y
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: $rs, labels: {app: other}}
spec:
  replicas: 0
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers: [{name: app, image: test/app:1}]
Y
kubectl apply -f "$TEST_DIR/del.yaml" >/dev/null
wait_for 30 "collision: rollout completes under another hash" -- dep_complete del 2
expect_eq "$(dep_field del .status.collisionCount)" "1" "collision: status.collisionCount 1"
expect_match "$(rs_names del)" '^del-[4-9bcdf]+$' "collision: the new RS has a new hash"
expect_eq "$(rs_names del | grep -c "^$rs\$")/$(rs_field "$rs" '.metadata.ownerReferences')" "0/" \
    "collision: the foreign RS is left alone"
kubectl delete deploy del >/dev/null
kubectl delete rs "$rs" >/dev/null

# --- item 21 / scenario 7: orphan and re-adopt ---
dep_manifest orph 2 test/app:1 >"$TEST_DIR/orph.yaml"
kubectl apply -f "$TEST_DIR/orph.yaml" >/dev/null
wait_for 30 "orph complete" -- dep_complete orph 2
rs=$(rs_names orph)
uid=$(rs_field "$rs" .metadata.uid)
pods=$(kubectl get pods -l app=orph -o jsonpath='{.items[*].metadata.name}')
kubectl delete deploy orph --cascade=orphan >/dev/null
orphaned() { ! kubectl get deploy orph >/dev/null 2>&1 && [ -z "$(rs_field "$rs" '.metadata.ownerReferences[?(@.controller==true)].name')" ]; }
wait_for 10 "item 21: orphan delete leaves the RS without controller ref" -- orphaned
expect_eq "$(kubectl get pods -l app=orph -o jsonpath='{.items[*].metadata.name}')" "$pods" "item 21: pods kept"
kubectl apply -f "$TEST_DIR/orph.yaml" >/dev/null
adopted() { [ "$(rs_field "$rs" '.metadata.ownerReferences[0].name')" = orph ]; }
wait_for 10 "scenario 7: the new Deployment adopts the RS" -- adopted
wait_for 20 "orph complete again" -- dep_complete orph 2
expect_eq "$(rs_names orph)" "$rs" "item 21: no new RS"
expect_eq "$(rs_field "$rs" .metadata.uid)" "$uid" "item 21: same RS UID"
expect_eq "$(kubectl get pods -l app=orph -o jsonpath='{.items[*].metadata.name}')" "$pods" "item 21: no pods created"
expect_eq "$(rs_field "$rs" '.metadata.ownerReferences[0].uid')" "$(dep_field orph .metadata.uid)" "owner is the new Deployment's UID"

# --- scenario 2: adopt an RS with a huge revision ---
bare_rs() { # NAME APP IMAGE REVISION
    kubectl apply -f - >/dev/null <<Y
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: $1
  labels: {app: $2, pod: httpd}
  annotations: {deployment.kubernetes.io/revision: "$4"}
spec:
  replicas: 1
  selector: {matchLabels: {app: $2, pod: httpd}}
  template:
    metadata: {labels: {app: $2, pod: httpd}}
    spec:
      containers: [{name: app, image: $3, readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}}]
Y
}
bare_rs rold ru test/app:1 3546343826724305832
rold_ready() { [ "$(rs_field rold .status.availableReplicas)" = 1 ]; }
wait_for 20 "pre-existing RS ready" -- rold_ready
kubectl apply -f - >/dev/null <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: ru}
spec:
  replicas: 1
  selector: {matchLabels: {app: ru, pod: httpd}}
  template:
    metadata: {labels: {app: ru, pod: httpd}}
    spec:
      containers: [{name: app, image: test/app:2, readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}}]
Y
wait_for 30 "scenario 2: rollout over the adopted RS completes" -- dep_complete ru 1
expect_eq "$(rs_field rold '.metadata.ownerReferences[0].name')/$(rs_field rold .spec.replicas)" "ru/0" \
    "scenario 2: the RS was adopted and scaled to 0"
new=$(rs_names ru | grep -v '^rold$')
expect_eq "$(rs_field "$new" '.metadata.annotations.deployment\.kubernetes\.io/revision')" "3546343826724305833" \
    "scenario 2: new RS revision = adopted revision + 1"
expect_eq "$(rs_names ru | wc -l)" "2" "scenario 2: exactly one old RS left"

# --- scenario 4: revisionHistoryLimit 0 ---
bare_rs cold cu test/app:1 1
cold_ready() { [ "$(rs_field cold .status.availableReplicas)" = 1 ]; }
wait_for 20 "second pre-existing RS ready" -- cold_ready
pod=$(kubectl get pods -l app=cu -o name)
kubectl apply -f - >/dev/null <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: cu}
spec:
  replicas: 1
  revisionHistoryLimit: 0
  selector: {matchLabels: {app: cu, pod: httpd}}
  template:
    metadata: {labels: {app: cu, pod: httpd}}
    spec:
      containers: [{name: app, image: test/app:2, readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}}]
Y
wait_for 30 "scenario 4: rollout completes" -- dep_complete cu 1
cold_gone() { ! kubectl get rs cold >/dev/null 2>&1; }
wait_for 10 "scenario 4: the adopted old RS is deleted (revisionHistoryLimit 0)" -- cold_gone
expect_eq "$(rs_names cu | wc -l)" "1" "scenario 4: only the new RS remains"
expect_eq "$(kubectl get events --field-selector involvedObject.name=cold,reason=SuccessfulCreate -o name | wc -l)" "1" \
    "scenario 4: adoption created no extra pod for the old RS"
finish
