#!/bin/bash
# t1080: the tutorial's basic commands (apply, get, set image, rollout status, rollout history,
# scale, delete) with every kubectl from 1.27 to 1.33 found beside the dispatcher. 1.27 and
# 1.28 validate against a protobuf /openapi/v2 we do not serve, so they apply with
# --validate=false (kubectl-api.md section 10). Each version starts with a cold discovery
# cache and must find aggregated discovery (v2beta1 for <= 1.29).
. "$(dirname "$0")/lib.sh"

dir=$(dirname "$(readlink -f "$(command -v kubectl)")")
export KROLL_DEBUG=api # logs every request target: shows which discovery each version used
# The manifests here are minimal on purpose: the lint warnings (t1095) would fill the output.
kroll_start --lint=off
cd "$TEST_DIR"
ran=0
for v in 27 28 29 30 31 32 33; do
    k="$dir/kubectl.1.$v"
    [ -x "$k" ] || { say "skip: no $k"; continue; }
    ran=$((ran + 1))
    export KUBECACHEDIR=$TEST_DIR/kubecache-$v
    val=""; [ "$v" -le 28 ] && val="--validate=false"
    name=web$v
    cat >d.yaml <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $name}
spec:
  replicas: 1
  selector: {matchLabels: {app: $name}}
  template:
    metadata: {labels: {app: $name}}
    spec:
      containers: [{name: srv, image: "example/web:1"}]
YAML
    mark=$(wc -l <"$TEST_DIR/server.log")
    expect_eq "$("$k" apply $val -f d.yaml 2>&1)" "deployment.apps/$name created" "1.$v apply"
    expect_eq "$(tail -n +"$mark" "$TEST_DIR/server.log" | grep -c 'target=/apis/apps/v1?timeout')" "0" \
        "1.$v uses aggregated discovery (no per-group-version lists)"
    expect_match "$(tail -n +"$mark" "$TEST_DIR/server.log" | grep -c 'target=/apis?timeout')" '^[1-9]' \
        "1.$v fetched /apis with a cold cache"
    expect_match "$("$k" get deploy "$name" 2>&1)" "^NAME +READY +UP-TO-DATE +AVAILABLE +AGE" "1.$v get prints the Table"
    expect_eq "$("$k" set image "deploy/$name" srv=example/web:2 2>&1)" "deployment.apps/$name image updated" "1.$v set image"
    expect_match "$("$k" rollout status "deploy/$name" --timeout=2s 2>&1)" \
        'Waiting for deployment|successfully rolled out|timed out waiting' "1.$v rollout status talks to the server"
    expect_match "$("$k" rollout history "deploy/$name" 2>&1)" $'REVISION +CHANGE-CAUSE\n1 +<none>\n2 +<none>' "1.$v rollout history"
    expect_eq "$("$k" scale "deploy/$name" --replicas=2 2>&1)" "deployment.apps/$name scaled" "1.$v scale"
    expect_eq "$("$k" get deploy "$name" -o jsonpath='{.spec.replicas}' 2>&1)" "2" "1.$v scaled replicas"
    expect_eq "$("$k" delete -f d.yaml 2>&1)" "deployment.apps \"$name\" deleted" "1.$v delete"
done
[ "$ran" -gt 0 ] || fail "no versioned kubectl found beside $(command -v kubectl)"
finish
