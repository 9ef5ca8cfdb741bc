#!/bin/bash
# t0900: the tutorial end to end with its own manifests (examples/tutorial/, verbatim timings:
# minReadySeconds 20, readiness every 5 s, preStop sleep 10) and its commands verbatim, under
# traffic through the Services. Examples 1-3 run in the default namespace; Exercises 1 and 2 run
# at the same time in namespace exercise1 (3 replicas), so the whole thing takes ~5 minutes.
# Checks the tutorial's expected outcomes: pods go to 4 briefly and back to 3, never fewer than
# 3 available, zero failed requests; the paused rollout holds at its first new pod; the bad
# release stalls and undo restores it; rollbacks finish with the old ReplicaSet serving.
. "$(dirname "$0")/lib.sh"

TUT=$KROLL_SRC/examples/tutorial
IMAGES=$KROLL_BUILD/examples/images
[ -d "$IMAGES/tf-serving-1.0.3" ] || { say "SKIP: no model-server images in $IMAGES"; exit 0; }
unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }
mkdir -p "$KROLL_DATA"
for v in 1.0.3 1.0.4 1.0.5; do
    "$KROLL_BIN" image import "$IMAGES/tf-serving-$v" "myrepo/tf-serving:$v" --data-dir "$KROLL_DATA" >/dev/null ||
        { fail "image import $v"; exit 1; }
done
kroll_start
# lib.sh's cleanup does not know the proxy: `kroll stop` stops server, pods and proxy first.
trap 'rc=$?; "$KROLL_BIN" stop --data-dir "$KROLL_DATA" >/dev/null 2>&1; (exit $rc); cleanup' EXIT
cd "$TUT" || exit 1

# load NAME IP: GET /v1/models/classifier at 10/s over one keep-alive connection (curl reuses
# it across the URL range), one "status version" line per request, 2 s limit per request.
load() {
    curl -s --rate 10/s -m 2 -o /dev/null -w '%{http_code} %header{x-model-version}\n' \
        "http://$2:8501/v1/models/classifier?n=[1-100000]" >"$TEST_DIR/load-$1" 2>/dev/null &
    KROLL_PIDS="$KROLL_PIDS $!"
    eval "LOAD_PID_$1=$!"
}
# load_result NAME: stops it; prints "<requests> <failed>" over complete lines.
load_result() {
    local pid
    eval "pid=\$LOAD_PID_$1"
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    head -n -1 "$TEST_DIR/load-$1" | awk '{n++} $1 != "200" {f++} END {printf "%d %d\n", n, f}'
}
avail() { kubectl get deploy model-serving "$@" -o jsonpath='{.status.availableReplicas}'; }
rs_ready() { # rs_ready VERSION [kubectl args]: ready replicas of the ReplicaSet running VERSION
    local v=$1; shift
    kubectl get rs -l app=model-serving "$@" \
        -o jsonpath="{range .items[?(@.spec.template.spec.containers[0].image==\"myrepo/tf-serving:$v\")]}{.status.readyReplicas}{end}"
}

# ---- Example 1 (and Exercise 1's manifest in its own namespace, at the same time) ----
expect_eq "$(kubectl apply -f deployment.yaml)" "deployment.apps/model-serving created" "Example 1: apply -f deployment.yaml"
expect_eq "$(kubectl apply -f service.yaml)" "service/model-serving created" "apply -f service.yaml"
kubectl create namespace exercise1 >/dev/null
expect_eq "$(kubectl apply -n exercise1 -f exercise1-deployment.yaml)" "deployment.apps/model-serving created" \
    "Exercise 1: apply -f deployment.yaml (3 replicas)"
kubectl apply -n exercise1 -f service.yaml >/dev/null
expect_rc 0 "Example 1 rolled out (4 replicas, minReadySeconds 20)" -- \
    timeout 120 kubectl rollout status deployment model-serving
expect_rc 0 "Exercise 1 rolled out" -- timeout 60 kubectl rollout status -n exercise1 deploy/model-serving
expect_eq "$(avail)/$(avail -n exercise1)" "4/3" "4 and 3 available"
IP=$(kubectl get svc model-serving -o jsonpath='{.spec.clusterIP}')
IP1=$(kubectl get svc model-serving -n exercise1 -o jsonpath='{.spec.clusterIP}')
wait_for 15 "Service answers at $IP:8501" -- curl -sf -m 2 "http://$IP:8501/v1/models/classifier"
wait_for 15 "exercise1 Service answers at $IP1:8501" -- curl -sf -m 2 "http://$IP1:8501/v1/models/classifier"
load ex1 "$IP1"
load ex "$IP"

# ---- Exercise 1: trigger an image update and watch a zero-downtime rollout ----
kubectl get deploy model-serving -n exercise1 -w \
    -o jsonpath='{.status.replicas} {.status.availableReplicas} {.status.updatedReplicas}{"\n"}' \
    >"$TEST_DIR/ex1-watch" 2>&1 &
EX1_WATCH=$!
KROLL_PIDS="$KROLL_PIDS $EX1_WATCH"
kubectl get pods -n exercise1 -w >"$TEST_DIR/ex1-pods" 2>&1 &
KROLL_PIDS="$KROLL_PIDS $!"
expect_eq "$(kubectl set image -n exercise1 deploy/model-serving server=myrepo/tf-serving:1.0.4)" \
    "deployment.apps/model-serving image updated" "Exercise 1: set image deploy/... container=repo/image:new"
timeout 200 kubectl rollout status -n exercise1 deploy/model-serving >"$TEST_DIR/ex1-status" 2>&1 &
EX1_STATUS=$!

# ---- Example 2: pause, verify, resume (verbatim) ----
expect_eq "$(kubectl set image deploy/model-serving server=myrepo/tf-serving:1.0.4)" \
    "deployment.apps/model-serving image updated" "Example 2: set image"
expect_eq "$(kubectl rollout pause deployment model-serving)" "deployment.apps/model-serving paused" "rollout pause"
timeout 35 kubectl get pods -l app=model-serving -w >"$TEST_DIR/ex2-pods" 2>&1
expect_eq "$?" 124 "get pods -w watched until stopped"
expect_match "$(cat "$TEST_DIR/ex2-pods")" 'model-serving-[a-z0-9]+-[a-z0-9]+ +1/1 +Running' "watch shows Ready pods"
expect_eq "$(rs_ready 1.0.4)/$(rs_ready 1.0.3)" "1/4" "paused at the first new pod: 1 new + 4 old ready"
timeout 5 kubectl rollout status deployment model-serving >"$TEST_DIR/out" 2>&1
expect_eq "$?" 124 "rollout status keeps waiting while paused"
expect_match "$(cat "$TEST_DIR/out")" 'Waiting for deployment "model-serving" rollout to finish: 1 out of 4 new replicas have been updated' \
    "rollout status says 1 out of 4 updated"
out=$(kubectl describe deployment model-serving)
expect_match "$out" 'Replicas: +4 desired \| 1 updated \| 5 total \| 5 available \| 0 unavailable' "describe: replicas line"
expect_match "$out" 'Progressing +Unknown +DeploymentPaused' "describe: Progressing Unknown DeploymentPaused"
sleep 2
expect_eq "$(rs_ready 1.0.4)/$(rs_ready 1.0.3)" "1/4" "still held while paused"
expect_eq "$(kubectl rollout resume deployment model-serving)" "deployment.apps/model-serving resumed" "rollout resume"
expect_rc 0 "resumed rollout finishes" -- timeout 200 kubectl rollout status deployment model-serving
expect_match "$(cat "$TEST_DIR/out")" 'deployment "model-serving" successfully rolled out' "successfully rolled out"
expect_eq "$(rs_ready 1.0.4)/$(rs_ready 1.0.3)" "4/" "all 4 on 1.0.4"

# ---- Exercise 1's expected outcome ----
wait "$EX1_STATUS"
expect_eq "$?" 0 "Exercise 1: rollout status deploy/... finishes"
sleep 1
kill "$EX1_WATCH" 2>/dev/null
read -r maxr mina last < <(awk 'NF == 3 {if ($1 > m) m = $1; if (mn == "" || $2 < mn) mn = $2
    l = $1 "/" $2 "/" $3} END {print m, mn, l}' "$TEST_DIR/ex1-watch")
expect_eq "$maxr" 4 "Exercise 1: pods scale to 4 total briefly (surge)"
expect_eq "$last" "3/3/3" "Exercise 1: back to 3 replicas, 3 available, 3 updated"
expect_eq "$mina" 3 "Exercise 1: never fewer than 3 available"
expect_eq "$(rs_ready 1.0.4 -n exercise1)" 3 "Exercise 1: 3 new pods ready"
expect_match "$(cat "$TEST_DIR/ex1-pods")" 'Terminating' "Exercise 1: old pods terminated (seen in get pods -w)"

# ---- Exercise 2 (exercise1 namespace, in the background) and Example 3 (default) ----
(
    kubectl set image -n exercise1 deploy/model-serving server=myrepo/tf-serving:1.0.5 >/dev/null
    kubectl rollout status -n exercise1 deploy/model-serving --timeout=40s >"$TEST_DIR/ex2x-status" 2>&1
    echo "rc=$?" >>"$TEST_DIR/ex2x-status"
    kubectl describe deployment -n exercise1 model-serving >"$TEST_DIR/ex2x-describe" 2>&1
    kubectl rollout undo -n exercise1 deployment model-serving >"$TEST_DIR/ex2x-undo" 2>&1
    kubectl rollout status -n exercise1 deployment model-serving --timeout=60s >>"$TEST_DIR/ex2x-undo" 2>&1
    echo "rc=$?" >>"$TEST_DIR/ex2x-undo"
) &
EX2X=$!

out=$(kubectl rollout history deployment model-serving)
expect_match "$out" $'REVISION +CHANGE-CAUSE\n1 +<none>\n2 +<none>' "Example 3: rollout history shows revisions 1 and 2"
expect_eq "$(kubectl rollout undo deployment model-serving)" "deployment.apps/model-serving rolled back" "rollout undo"
out=$(kubectl rollout undo deployment model-serving --to-revision=4 2>&1)
expect_eq "$?/$out" "1/error: unable to find specified revision 4 in history" \
    "undo --to-revision=4: there is no revision 4 yet (as on a cluster)"
expect_rc 0 "rollout status after undo" -- timeout 200 kubectl rollout status deployment model-serving
expect_match "$(cat "$TEST_DIR/out")" 'successfully rolled out' "undo rolled out"
out=$(kubectl get rs -l app=model-serving)
expect_match "$out" 'model-serving-[a-z0-9]+ +4 +4 +4 ' "get rs: one ReplicaSet with 4/4/4"
expect_match "$out" 'model-serving-[a-z0-9]+ +0 +0 +0 ' "get rs: the other scaled to 0"
expect_eq "$(rs_ready 1.0.3)" 4 "back on 1.0.3"
expect_match "$(kubectl rollout history deployment model-serving)" $'\n2 +<none>\n3 +<none>' "history: revisions 2 and 3"

wait "$EX2X"
expect_match "$(cat "$TEST_DIR/ex2x-status")" 'rc=1' "Exercise 2: rollout status indicates failure (timeout)"
expect_match "$(cat "$TEST_DIR/ex2x-status")" 'timed out waiting for the condition' "Exercise 2: timed out waiting"
expect_match "$(cat "$TEST_DIR/ex2x-describe")" 'Replicas: +3 desired \| 1 updated \| 4 total \| 3 available \| 1 unavailable' \
    "Exercise 2: describe shows the stuck new pod"
expect_match "$(cat "$TEST_DIR/ex2x-undo")" 'deployment.apps/model-serving rolled back' "Exercise 2: rollout undo"
expect_match "$(cat "$TEST_DIR/ex2x-undo")" 'rc=0' "Exercise 2: recovered after undo"
expect_eq "$(rs_ready 1.0.4 -n exercise1)/$(avail -n exercise1)" "3/3" "Exercise 2: 3 pods of 1.0.4 available again"

read -r n f < <(load_result ex)
say "Examples 2 and 3 under load: $n requests, $f failed"
expect_eq "$f" 0 "Examples 2-3: zero failed requests through the Service"
[ "$n" -gt 1000 ] && pass "load ran ($n requests)" || fail "too few requests: $n"
expect_match "$(awk '{print $2}' "$TEST_DIR/load-ex" | sort -u | xargs)" '^1\.0\.3 1\.0\.4$' "answers came from 1.0.3 and 1.0.4"
read -r n f < <(load_result ex1)
say "Exercises 1 and 2 under load: $n requests, $f failed"
expect_eq "$f" 0 "Exercises 1-2: zero failed requests through the Service"
[ "$n" -gt 1000 ] && pass "load ran ($n requests)" || fail "too few requests: $n"
finish
