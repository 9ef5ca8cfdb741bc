#!/usr/bin/env bash
# t1332: a basic canary (no traffic routing) at setWeight 20 with 5 replicas runs 1 canary and 4
# stable pods (progressive-delivery.md 2.4), and the Service that selects both spreads requests
# evenly over the ready pods, so the canary's share of 1,000 requests is its pod share, 20% +- 3%
# (checklist 67), with none failed; under wrk load through that Service an abort and a promotion
# to completion fail no request (checklist 70).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
. "$(dirname "$0")/rollout-lib.sh"
svc_setup

ro_yaml() { # VERSION
    cat <<Y
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: share}
spec:
  replicas: 5
  selector: {matchLabels: {app: share}}
  template:
    metadata: {labels: {app: share}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: server
        image: myrepo/tf-serving:1.0.3
        args: ["--port=0", "--rest_api_port=8501", "--model_name=classifier", "--model_base_path=/models/classifier"]
        env: [{name: MODEL_VERSION, value: "$1"}]
        readinessProbe:
          httpGet: {path: /v1/models/classifier, port: 8501}
          periodSeconds: 1
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
Y
}

kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: share}
spec: {selector: {app: share}, ports: [{name: http, port: 80, targetPort: 8501}]}
Y
ro_yaml v1 | kubectl apply -f - >/dev/null
wait_for 120 "initial deploy Healthy" -- ro_is share Healthy/
IP=$(kubectl get svc share -o jsonpath='{.spec.clusterIP}')
U="http://$IP/v1/models/classifier"
wait_for 20 "the Service answers" -- sh_eval '[ "$(version_of "$U")" = v1 ]'

ro_yaml v2 | kubectl apply -f - >/dev/null
wait_for 90 "paused at setWeight 20" -- ro_is share Paused/CanaryPauseStep
h2=$(ro_field share .status.currentPodHash)
h1=$(ro_field share .status.stableRS)
expect_eq "$(rs_spec_avail "share-$h2")/$(rs_spec_avail "share-$h1")" "1/1/4/4" \
    "67: setWeight 20 of 5 -> 1 canary and 4 stable pods, all available"
ready_eps() { [ "$(kubectl get endpointslices -l kubernetes.io/service-name=share \
    -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}x{end}')" = xxxxx ]; }
wait_for 30 "the Service has 5 ready endpoints" -- ready_eps

read -r n1 n2 nf <<<"$(/usr/bin/python3 - "$IP" <<'PY'
import http.client, sys
cnt = {"v1": 0, "v2": 0, "?": 0}
for c in range(20):
    h = http.client.HTTPConnection(sys.argv[1], 80, timeout=5)
    for _ in range(50):
        try:
            h.request("GET", "/v1/models/classifier")
            r = h.getresponse(); r.read()
            v = r.getheader("X-Model-Version") if r.status == 200 else None
        except OSError:
            h.close(); h = http.client.HTTPConnection(sys.argv[1], 80, timeout=5); v = None
        cnt[v if v in cnt else "?"] += 1
    h.close()
print(cnt["v1"], cnt["v2"], cnt["?"])
PY
)"
say "1,000 requests through the Service: v1=$n1 v2=$n2 failed=$nf"
expect_eq "$nf" "0" "67: 1,000 requests, none failed"
[ "$n2" -ge 170 ] && [ "$n2" -le 230 ] &&
    pass "67: the canary's share is its pod share, 20% +- 3% (v2=$n2 of 1000)" ||
    fail "67: the canary's share is $n2 of 1000, want 200 +- 30"

# 70: under wrk load through the same Service, abort (the canary pod drained and stopped, the
# stable back to 5) and a promotion to completion (the old pods stopped at once) fail nothing.
cat >"$TEST_DIR/abort.sh" <<S
kubectl patch ro share --subresource=status --type merge -p '{"status":{"abort":true}}' >/dev/null || exit 1
for _ in \$(seq 1 240); do
    [ "\$(kubectl get rs share-$h2 -o jsonpath='{.spec.replicas}/{.status.replicas}')" = 0/0 ] &&
        [ "\$(kubectl get rs share-$h1 -o jsonpath='{.status.availableReplicas}')" = 5 ] && exit 0
    sleep 0.25
done
exit 1
S
LOAD_HOST=$IP LOAD_PORT=80 LOAD_ARGS="--connections 4" \
    load_check "70: abort of a basic canary under load through the Service" 30 -- bash "$TEST_DIR/abort.sh"
expect_match "$(ro_phase share)" "^Degraded/RolloutAborted" "the abort left the rollout Degraded"
ro_status_patch share '{"status":{"abort":false}}'
wait_for 90 "retry: paused at setWeight 20 again" -- ro_is share Paused/CanaryPauseStep
cat >"$TEST_DIR/promote.sh" <<S
kubectl patch ro share --subresource=status --type merge -p '{"status":{"pauseConditions":null}}' >/dev/null || exit 1
for _ in \$(seq 1 360); do
    [ "\$(kubectl get ro share -o jsonpath='{.status.phase}')" = Healthy ] &&
        [ "\$(kubectl get rs share-$h1 -o jsonpath='{.spec.replicas}/{.status.replicas}')" = 0/0 ] && exit 0
    sleep 0.25
done
exit 1
S
LOAD_HOST=$IP LOAD_PORT=80 LOAD_ARGS="--connections 4" \
    load_check "70: promotion of a basic canary to completion under load through the Service" 60 -- \
    bash "$TEST_DIR/promote.sh"
expect_eq "$(version_of "$U")" v2 "v2 serves after the promotion"
finish
