#!/bin/bash
# t0358: the tutorial's rolling update of the example model server, with its verbatim commands
# (set image, rollout pause/status/resume/history/undo/undo --to-revision, describe deployment,
# get rs -l app=model-serving) and their outputs as a real cluster prints them. Timings of the
# manifest are shortened for CI (minReadySeconds 2, probe period 1 s, preStop sleep 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

IMAGES=$KROLL_BUILD/examples/images
[ -d "$IMAGES/tf-serving-1.0.3" ] || { say "SKIP: no model-server images in $IMAGES"; exit 0; }
mkdir -p "$KROLL_DATA"
for v in 1.0.3 1.0.4 1.0.5; do
    "$KROLL_BIN" image import "$IMAGES/tf-serving-$v" "myrepo/tf-serving:$v" --data-dir "$KROLL_DATA" >/dev/null ||
        { fail "image import $v"; exit 1; }
done
kroll_start

# The X-Model-Version each running pod answers with, asked inside its network namespace.
pod_versions() {
    local p uid ip shim
    for p in $(kubectl get pods -l app=model-serving -o jsonpath='{range .items[*]}{.metadata.name}{" "}{end}'); do
        uid=$(kubectl get pod "$p" -o jsonpath='{.metadata.uid}')
        ip=$(kubectl get pod "$p" -o jsonpath='{.status.podIP}')
        shim=$(cat "$KROLL_DATA/pods/$uid/shim.pid" 2>/dev/null) || continue
        nsenter --net="/proc/$shim/ns/net" curl -s -D - -o /dev/null --max-time 5 \
            "http://$ip:8501/v1/models/classifier" | tr -d '\r' | sed -n 's/^X-Model-Version: //p'
    done | xargs
}

cat >"$TEST_DIR/deployment.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: model-serving
spec:
  replicas: 4
  revisionHistoryLimit: 10
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  minReadySeconds: 2
  selector:
    matchLabels:
      app: model-serving
  template:
    metadata:
      labels:
        app: model-serving
    spec:
      terminationGracePeriodSeconds: 30
      containers:
      - name: server
        image: myrepo/tf-serving:1.0.3
        args: ["--port=8500", "--rest_api_port=8501", "--model_name=classifier", "--model_base_path=/models/classifier"]
        readinessProbe:
          httpGet:
            path: /v1/models/classifier
            port: 8501
          initialDelaySeconds: 0
          periodSeconds: 1
          failureThreshold: 3
        lifecycle:
          preStop:
            exec:
              command: ["/bin/sh", "-c", "sleep 1"]
Y
expect_eq "$(kubectl apply -f "$TEST_DIR/deployment.yaml")" "deployment.apps/model-serving created" "apply"
out=$(kubectl rollout status deployment model-serving --timeout=60s); rc=$?
expect_eq "$rc/$(echo "$out" | tail -n 1)" '0/deployment "model-serving" successfully rolled out' "initial rollout status"
rs1=$(rs_names model-serving)
expect_match "$(pod_versions)" '^(1\.0\.3 ){3}1\.0\.3$' "all pods serve model version 1.0.3"

# Example 2: pause, verify, resume.
expect_eq "$(kubectl set image deploy/model-serving server=myrepo/tf-serving:1.0.4)" \
    "deployment.apps/model-serving image updated" "set image 1.0.4"
expect_eq "$(kubectl rollout pause deployment model-serving)" "deployment.apps/model-serving paused" "rollout pause"
sleep 1
rs2=$(rs_names model-serving | grep -v "^$rs1\$")
held() { [ "$(rs_field "$rs2" .spec.replicas)" = 1 ] && [ "$(rs_field "$rs2" .status.readyReplicas)" = 1 ]; }
wait_for 20 "paused with the first new pod up and ready" -- held
sleep 3
expect_eq "$(rs_field "$rs1" .spec.replicas)/$(rs_field "$rs2" .spec.replicas)" "4/1" "rollout holds while paused"
out=$(timeout 3 kubectl get pods -l app=model-serving -w)
expect_match "$(echo "$out" | head -n 1)" '^NAME +READY +STATUS +RESTARTS +AGE$' "get pods -w header"
expect_eq "$(echo "$out" | grep -c ' 1/1 \+Running ')" "5" "get pods -w lists 5 ready pods"
out=$(kubectl rollout status deployment model-serving --timeout=3s 2>&1); rc=$?
expect_eq "$rc" "1" "rollout status on a paused rollout times out"
expect_match "$out" 'Waiting for deployment "model-serving" rollout to finish: 1 out of 4 new replicas have been updated...' \
    "rollout status while paused"
d=$(kubectl describe deployment model-serving)
expect_match "$d" 'Replicas: +4 desired \| 1 updated \| 5 total \| 5 available \| 0 unavailable' "describe: Replicas line"
expect_match "$d" 'StrategyType: +RollingUpdate' "describe: StrategyType"
expect_match "$d" 'MinReadySeconds: +2' "describe: MinReadySeconds"
expect_match "$d" 'RollingUpdateStrategy: +0 max unavailable, 1 max surge' "describe: RollingUpdateStrategy"
expect_match "$d" 'Progressing +Unknown +DeploymentPaused' "describe: paused condition"
expect_match "$d" "OldReplicaSets: +$rs1 \\(4/4 replicas created\\)" "describe: OldReplicaSets"
expect_match "$d" "NewReplicaSet: +$rs2 \\(1/1 replicas created\\)" "describe: NewReplicaSet"
expect_match "$d" "Normal +ScalingReplicaSet +[0-9a-z]+ +deployment-controller +Scaled up replica set $rs2 to 1" "describe: events"
expect_eq "$(kubectl rollout resume deployment model-serving)" "deployment.apps/model-serving resumed" "rollout resume"
out=$(kubectl rollout status deployment model-serving --timeout=90s); rc=$?
expect_eq "$rc/$(echo "$out" | tail -n 1)" '0/deployment "model-serving" successfully rolled out' "rollout to 1.0.4 completes"
old_gone() { [ "$(kubectl get pods -l app=model-serving --no-headers | wc -l)" = 4 ]; }
wait_for 40 "old pods gone" -- old_gone
expect_match "$(pod_versions)" '^(1\.0\.4 ){3}1\.0\.4$' "all pods now serve 1.0.4"

# A bad release gets stuck; describe shows why; undo recovers.
kubectl patch deploy model-serving --type=merge -p '{"spec":{"progressDeadlineSeconds":8}}' >/dev/null
kubectl set image deploy/model-serving server=myrepo/tf-serving:1.0.5 >/dev/null
out=$(kubectl rollout status deployment model-serving --timeout=60s 2>&1); rc=$?
expect_eq "$rc/$(echo "$out" | tail -n 1)" '1/error: deployment "model-serving" exceeded its progress deadline' \
    "rollout status reports the stuck release"
rs3=$(rs_names model-serving | grep -v "^$rs1\$" | grep -v "^$rs2\$")
d=$(kubectl describe deployment model-serving)
expect_match "$d" 'Progressing +False +ProgressDeadlineExceeded' "describe shows ProgressDeadlineExceeded"
expect_match "$d" 'Available +True +MinimumReplicasAvailable' "describe: still available (maxUnavailable 0)"
expect_match "$d" 'Replicas: +4 desired \| 1 updated \| 5 total \| 4 available \| 1 unavailable' "describe: stuck counts"
hist=$(kubectl rollout history deployment model-serving | sed 's/ *$//')
expect_eq "$hist" "deployment.apps/model-serving
REVISION  CHANGE-CAUSE
1         <none>
2         <none>
3         <none>" "rollout history"
expect_eq "$(kubectl rollout undo deployment model-serving)" "deployment.apps/model-serving rolled back" "rollout undo"
out=$(kubectl rollout status deployment model-serving --timeout=60s); rc=$?
expect_eq "$rc/$(echo "$out" | tail -n 1)" '0/deployment "model-serving" successfully rolled out' "undo completes"
expect_eq "$(dep_field model-serving '.spec.template.spec.containers[0].image')" "myrepo/tf-serving:1.0.4" "back on 1.0.4"
out=$(kubectl rollout undo deployment model-serving --to-revision=4)
expect_eq "$out" "deployment.apps/model-serving skipped rollback (current template already matches revision 4)" \
    "undo --to-revision=4 is the current revision"
out=$(kubectl get rs -l app=model-serving)
expect_match "$(echo "$out" | head -n 1)" '^NAME +DESIRED +CURRENT +READY +AGE$' "get rs header"
expect_match "$out" "$rs2 +4 +4 +4 " "get rs: the 1.0.4 RS has 4/4/4"
expect_match "$out" "$rs1 +0 +0 +0 " "get rs: the 1.0.3 RS at 0"
expect_match "$out" "$rs3 +0 +0 +0 " "get rs: the 1.0.5 RS at 0"
expect_eq "$(kubectl rollout undo deployment model-serving --to-revision=1)" "deployment.apps/model-serving rolled back" \
    "undo --to-revision=1"
out=$(kubectl rollout status deployment model-serving --timeout=60s); rc=$?
expect_eq "$rc/$(echo "$out" | tail -n 1)" '0/deployment "model-serving" successfully rolled out' "back to 1.0.3"
expect_eq "$(kubectl rollout history deployment model-serving | sed 's/ *$//' | sed -n '3,$p' | awk '{print $1}' | xargs)" \
    "3 4 5" "history after two undos: 3 4 5 (1 and 2 were renumbered)"
expect_eq "$(rs_names model-serving | wc -l)" "3" "undos reused RSs: still three"
finish
