#!/usr/bin/env bash
# t1334: a traffic-routed canary (Argo's Gateway API plugin, done by kroll) of 5 replicas at
# setWeight 30 runs ceil(30% x 5) = 2 canary pods beside the 5 stable ones (progressive-delivery.md
# checklist 69), and no request fails under wrk load while it changes step, aborts, is promoted
# and scales the previous stable down after scaleDownDelaySeconds (the default 30 s) (checklist
# 70): load goes through the Gateway's HTTPRoute for the step change and the abort, and to the
# stable Service's cluster IP for the promotion (its selector moves to the new pods) and the
# delayed scale-down.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
. "$(dirname "$0")/rollout-lib.sh"
svc_setup

ro_yaml() { # VERSION
    cat <<Y
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: zd}
spec:
  replicas: 5
  selector: {matchLabels: {app: zd}}
  template:
    metadata: {labels: {app: zd}}
    spec:
      terminationGracePeriodSeconds: 10
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
      canaryService: zd-canary
      stableService: zd-stable
      abortScaleDownDelaySeconds: 5
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI: {httpRoute: zd-route, namespace: default}
      steps:
      - setWeight: 30
      - pause: {}
Y
}

kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: zd-stable}
spec: {selector: {app: zd}, ports: [{name: http, port: 80, targetPort: 8501}]}
---
apiVersion: v1
kind: Service
metadata: {name: zd-canary}
spec: {selector: {app: zd}, ports: [{name: http, port: 80, targetPort: 8501}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: kroll
  listeners: [{name: web, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: zd-route}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: zd-stable, port: 80, weight: 100}, {name: zd-canary, port: 80, weight: 0}]
Y
ro_yaml v1 | kubectl apply -f - >/dev/null
wait_for 120 "initial deploy Healthy" -- ro_is zd Healthy/
h1=$(ro_field zd .status.stableRS)
GW=$(kubectl get gtw gw -o jsonpath='{.status.addresses[0].value}')
wait_for 20 "the Gateway answers" -- sh_eval '[ "$(version_of "http://$GW/v1/models/classifier")" = v1 ]'
weights() { kubectl get httproute zd-route -o jsonpath='{range .spec.rules[0].backendRefs[*]}{.name}={.weight} {end}'; }
ro_yaml v2 >"$TEST_DIR/v2.yaml"

# The commands run under load: each waits (bounded) for what it started.
cat >"$TEST_DIR/update.sh" <<S
kubectl apply -f "$TEST_DIR/v2.yaml" >/dev/null || exit 1
for _ in \$(seq 1 240); do
    [ "\$(kubectl get ro zd -o jsonpath='{.status.phase}/{.status.message}')" = Paused/CanaryPauseStep ] && exit 0
    sleep 0.25
done
exit 1
S
LOAD_HOST=$GW LOAD_PORT=80 LOAD_ARGS="--connections 4" \
    load_check "70: the update to setWeight 30 under load through the Gateway" 40 -- bash "$TEST_DIR/update.sh"
h2=$(ro_field zd .status.currentPodHash)
expect_eq "$(rs_spec_avail "zd-$h2")/$(rs_spec_avail "zd-$h1")" "2/2/5/5" \
    "69: setWeight 30 of 5 with traffic routing: canary ceil(1.5) = 2, stable kept at 5"
expect_eq "$(weights)" "zd-stable=70 zd-canary=30 " "69: the HTTPRoute's weights 70/30"

cat >"$TEST_DIR/abort.sh" <<S
kubectl patch ro zd --subresource=status --type merge -p '{"status":{"abort":true}}' >/dev/null || exit 1
for _ in \$(seq 1 240); do
    [ "\$(kubectl get rs zd-$h2 -o jsonpath='{.spec.replicas}/{.status.replicas}')" = 0/0 ] &&
        [ "\$(kubectl get ro zd -o jsonpath='{.status.phase}')" = Degraded ] && exit 0
    sleep 0.25
done
exit 1
S
LOAD_HOST=$GW LOAD_PORT=80 LOAD_ARGS="--connections 4" \
    load_check "70: abort (weights back to 0, the canary scaled to 0) under load through the Gateway" 30 -- \
    bash "$TEST_DIR/abort.sh"
expect_eq "$(weights)" "zd-stable=100 zd-canary=0 " "abort: the HTTPRoute's weights 100/0"
expect_eq "$(( $(date -d "$(kubectl get rs "zd-$h2" -o jsonpath='{.metadata.annotations.scale-down-deadline}')" +%s) - $(date -d "$(ro_field zd .status.abortedAt)" +%s) ))" \
    "5" "abort: the canary was scaled down abortScaleDownDelaySeconds (5 s) after the abort"

ro_status_patch zd '{"status":{"abort":false}}'
wait_for 120 "retry: paused at setWeight 30 again" -- ro_is zd Paused/CanaryPauseStep
wait_for 60 "retry: 2 canary pods available again" -- sh_eval '[ "$(rs_spec_avail "zd-$h2")" = 2/2 ]'

cat >"$TEST_DIR/promote.sh" <<S
kubectl patch ro zd --subresource=status --type merge -p '{"status":{"pauseConditions":null}}' >/dev/null || exit 1
ok=0
for _ in \$(seq 1 240); do
    [ "\$(kubectl get ro zd -o jsonpath='{.status.phase}')" = Healthy ] && { ok=1; break; }
    sleep 0.25
done
[ \$ok = 1 ] || exit 1
# At completion: the previous stable's replicas and its scale-down deadline, against now.
echo "\$(kubectl get rs zd-$h1 -o jsonpath='{.spec.replicas}') \$(date +%s) \$(date -d "\$(kubectl get rs zd-$h1 -o jsonpath='{.metadata.annotations.scale-down-deadline}')" +%s)" >"$TEST_DIR/at-completion"
for _ in \$(seq 1 300); do
    [ "\$(kubectl get rs zd-$h1 -o jsonpath='{.spec.replicas}/{.status.replicas}')" = 0/0 ] && exit 0
    sleep 0.25
done
exit 1
S
LOAD_HOST=$(svc_ip zd-stable) LOAD_PORT=80 LOAD_ARGS="--connections 4" \
    load_check "70: promotion and the delayed scale-down of the previous stable under load through its Service" 80 -- \
    bash "$TEST_DIR/promote.sh"
read -r kept now deadline <"$TEST_DIR/at-completion" 2>/dev/null
say "at completion: previous stable at ${kept:-?} replicas, scale-down deadline in $(( ${deadline:-0} - ${now:-0} )) s"
expect_eq "${kept:-}" "5" "69: the previous stable is still at 5 when the rollout completes"
[ -n "${deadline:-}" ] && [ $((deadline - now)) -ge 20 ] && [ $((deadline - now)) -le 31 ] &&
    pass "69: its scale-down deadline is scaleDownDelaySeconds (30 s) after completion ($((deadline - now)) s left when seen)" ||
    fail "69: the previous stable's scale-down deadline is $(( ${deadline:-0} - ${now:-0} )) s after completion, want 30 (20-31 when seen)"
expect_eq "$(svc_hash zd-stable)/$(weights)" "$h2/zd-stable=100 zd-canary=0 " \
    "completion: the stable Service on the new pods, weights 100/0"
expect_eq "$(version_of "http://$(svc_ip zd-stable)/v1/models/classifier")" v2 "v2 serves"
finish
