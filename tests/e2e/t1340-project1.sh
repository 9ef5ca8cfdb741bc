#!/bin/bash
# t1340: the tutorial's Project 1 (examples/project1) twice, each against a good release
# (1.0.4) and a bad one (1.0.4 with ERROR_PERCENT=50): playbook.sh on the tutorial's Deployment
# (pause after the first new pod, checks through a port-forward, resume or undo: exit 0 / 1),
# then the Rollout + AnalysisTemplate under traffic (Healthy on the new revision / Degraded,
# aborted). The manifests' timings are shortened for CI (minReadySeconds 2, probe period 1 s,
# preStop sleep 1, 2 replicas, a 15 s pause).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
svc_setup
EX=$KROLL_SRC/examples/project1
short() {
    sed -e 's/replicas: 4/replicas: 2/' -e 's/minReadySeconds: 20/minReadySeconds: 2/' \
        -e 's/initialDelaySeconds: 5/initialDelaySeconds: 1/' -e 's/periodSeconds: 5/periodSeconds: 1/' \
        -e 's/sleep 10/sleep 1/' -e 's/duration: 30s/duration: 15s/' "$1"
}
img_of() { kubectl get "$1" model-serving -o jsonpath='{.spec.template.spec.containers[0].image}'; }
env_of() { kubectl get "$1" model-serving -o jsonpath='{.spec.template.spec.containers[0].env}'; }

# ---- (a) the playbook on the tutorial's Deployment ----
short "$KROLL_SRC/examples/tutorial/deployment.yaml" | kubectl apply -f - >/dev/null || fail "apply the Deployment"
kubectl apply -f "$EX/service.yaml" >/dev/null
wait_for 120 "the tutorial's Deployment is ready" -- sh_eval 'ready_n model-serving 2'
TIMEOUT=120 "$EX/playbook.sh" myrepo/tf-serving:1.0.4 >"$TEST_DIR/pb1.out" 2>&1
expect_eq "$?" 0 "playbook, good release: exit 0 (resumed)"
expect_match "$(cat "$TEST_DIR/pb1.out")" 'paused with the first new pod available' "it paused after the first new pod"
expect_match "$(cat "$TEST_DIR/pb1.out")" 'predictions on .* answered 200' "its checks ran against the new pod"
expect_eq "$(img_of deploy)" "myrepo/tf-serving:1.0.4" "the Deployment runs 1.0.4"
expect_eq "$(kubectl get deploy model-serving -o jsonpath='{.spec.paused}')" "" "and is not paused"
expect_eq "$(kubectl get deploy model-serving -o jsonpath='{.status.updatedReplicas}/{.status.availableReplicas}')" "2/2" \
    "every pod is of the new revision and available"

TIMEOUT=120 "$EX/playbook.sh" myrepo/tf-serving:1.0.4 ERROR_PERCENT=50 >"$TEST_DIR/pb2.out" 2>&1
expect_eq "$?" 1 "playbook, bad release (ERROR_PERCENT=50): exit 1 (rolled back)"
expect_match "$(cat "$TEST_DIR/pb2.out")" 'check FAILED: [0-9]+ of 20 predictions' "the predictions check failed"
expect_eq "$(env_of deploy)" "" "the Deployment's template is back to the previous revision (no ERROR_PERCENT)"
expect_eq "$(kubectl get deploy model-serving -o jsonpath='{.spec.paused}')" "" "not left paused"
wait_for 60 "only the good revision's pods remain" -- \
    sh_eval 'test "$(kubectl get pods -l app=model-serving -o name | wc -l)" = 2'
expect_rc 2 "a bad argument: exit 2" -- "$EX/playbook.sh" myrepo/tf-serving:1.0.4 'NOT AN ENV'
say "playbook.sh output (bad release):"; sed 's/^/    /' "$TEST_DIR/pb2.out"
say "history: $(kubectl rollout history deploy/model-serving | tail -n +2 | xargs)"
kubectl delete deploy model-serving >/dev/null
wait_for 90 "the Deployment's pods are gone" -- \
    sh_eval 'test "$(kubectl get pods -l app=model-serving -o name | wc -l)" = 0'

# ---- (b) the Rollout and its AnalysisTemplate ----
kubectl apply -f "$EX/analysistemplate.yaml" >/dev/null || fail "apply the AnalysisTemplate"
short "$EX/rollout.yaml" | kubectl apply -f - >/dev/null || fail "apply the Rollout"
ro_phase() { kubectl get ro model-serving -o jsonpath='{.status.phase}'; }
wait_for 120 "the Rollout's first revision is Healthy" -- sh_eval 'test "$(ro_phase)" = Healthy'
IP=$(svc_ip model-serving)
( end=$(($(date +%s) + 300))
  while [ "$(date +%s)" -lt "$end" ] && [ ! -e "$TEST_DIR/stop-load" ]; do
      curl -s -m 3 -o /dev/null -w '%{http_code}\n' -X POST -d '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' \
          "http://$IP:8501/v1/models/classifier:predict"
      sleep 0.05
  done >"$TEST_DIR/codes" ) &
LOAD_PID=$!
KROLL_PIDS="$KROLL_PIDS $LOAD_PID"
set_ro() { # set_ro IMAGE [ERROR_PERCENT]
    local env='[]'
    [ -n "${2:-}" ] && env="[{\"name\":\"ERROR_PERCENT\",\"value\":\"$2\"}]"
    kubectl patch ro model-serving --type json -p "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/image\",\"value\":\"$1\"},
        {\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0/env\",\"value\":$env}]" >/dev/null || fail "patch the Rollout"
}
set_ro myrepo/tf-serving:1.0.4
done_ok() { test "$(ro_phase)" = Healthy && test "$(kubectl get ro model-serving -o jsonpath='{.status.stableRS}')" = \
    "$(kubectl get ro model-serving -o jsonpath='{.status.currentPodHash}')"; }
wait_for 180 "good release: the analysis passes and the Rollout completes" -- done_ok
H=$(kubectl get ro model-serving -o jsonpath='{.status.currentPodHash}')
expect_eq "$(kubectl get ar -l rollouts-pod-template-hash="$H" -o jsonpath='{.items[0].status.phase}')" Successful \
    "the good canary's AnalysisRun: Successful"
before=$(grep -vc '^200$' "$TEST_DIR/codes")
set_ro myrepo/tf-serving:1.0.4 50
wait_for 180 "bad release: the analysis fails, the Rollout aborts (Degraded)" -- sh_eval 'test "$(ro_phase)" = Degraded'
H2=$(kubectl get ro model-serving -o jsonpath='{.status.currentPodHash}')
expect_eq "$(kubectl get ar -l rollouts-pod-template-hash="$H2" -o jsonpath='{.items[0].status.phase}')" Failed \
    "the bad canary's AnalysisRun: Failed"
expect_eq "$(kubectl get ro model-serving -o jsonpath='{.status.abort}')" true "status.abort"
expect_eq "$(kubectl get ro model-serving -o jsonpath='{.status.stableRS}')" "$H" "the stable revision stays the good one"
wait_for 60 "the canary is scaled down" -- \
    sh_eval 'test "$(kubectl get rs "model-serving-$H2" -o jsonpath="{.spec.replicas}")" = 0'
touch "$TEST_DIR/stop-load"; wait "$LOAD_PID" 2>/dev/null
say "the bad canary cost $(($(grep -vc '^200$' "$TEST_DIR/codes") - before)) failed requests of $(wc -l <"$TEST_DIR/codes") sent"
finish
