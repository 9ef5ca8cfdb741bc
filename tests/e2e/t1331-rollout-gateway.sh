#!/usr/bin/env bash
# t1331: a canary Rollout with trafficRouting.plugins argoproj-labs/gatewayAPI (Argo's Gateway
# API plugin, done by kroll) on an HTTPRoute served by kroll's proxy (progressive-delivery.md
# 2.3-2.4, checklist 68-69): setWeight 20 sets the HTTPRoute's backendRefs to 20/80 and ~20% of
# 1,000 requests reach the canary although it has 1 pod of 3; the stable stays at full size;
# setHeaderRoute sends a tester's header to the canary; abort returns 100% to the stable at once,
# removes the managed route and keeps the canary's pods abortScaleDownDelaySeconds (30 s);
# completion points the stable Service at the new pods with the weights back to 0/100 and keeps
# the previous stable for scaleDownDelaySeconds; bad routing specs are refused with 422.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
. "$(dirname "$0")/rollout-lib.sh"
svc_setup

ro_yaml() { # VERSION
    cat <<Y
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: ro}
spec:
  replicas: 2
  selector: {matchLabels: {app: ro}}
  template:
    metadata: {labels: {app: ro}}
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
      canaryService: ro-canary
      stableService: ro-stable
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI: {httpRoute: ro-route, namespace: default}
        managedRoutes: [{name: tester}]
      steps:
      - setWeight: 20
      - setHeaderRoute:
          name: tester
          match: [{headerName: x-tester, headerValue: {exact: "yes"}}]
      - pause: {}
      - setWeight: 50
      - pause: {}
Y
}

kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: ro-stable}
spec: {selector: {app: ro}, ports: [{name: http, port: 80, targetPort: 8501}]}
---
apiVersion: v1
kind: Service
metadata: {name: ro-canary}
spec: {selector: {app: ro}, ports: [{name: http, port: 80, targetPort: 8501}]}
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
metadata: {name: ro-route}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: ro-stable, port: 80, weight: 100}, {name: ro-canary, port: 80, weight: 0}]
Y
ro_yaml v1 | kubectl apply -f - >/dev/null
wait_for 90 "initial deploy Healthy" -- ro_is ro Healthy/
GW=$(kubectl get gtw gw -o jsonpath='{.status.addresses[0].value}')
U="http://$GW/v1/models/classifier"
weights() { kubectl get httproute ro-route -o jsonpath='{range .spec.rules[0].backendRefs[*]}{.name}={.weight} {end}'; }
expect_eq "$(weights)" "ro-stable=100 ro-canary=0 " "Healthy: the route sends everything to the stable"
wait_for 20 "the Gateway answers" -- sh_eval '[ "$(version_of "$U")" = v1 ]'

# N requests over C connections, with extra headers; prints "v1-count v2-count failed".
count() {
    /usr/bin/python3 - "$GW" "$@" <<'PY'
import http.client, sys
host, n, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hdrs = dict(h.split(":", 1) for h in sys.argv[4:])
cnt = {"v1": 0, "v2": 0, "?": 0}
for c in range(conns):
    h = http.client.HTTPConnection(host, 80, timeout=5)
    for _ in range(n // conns):
        h.request("GET", "/v1/models/classifier", headers=hdrs)
        r = h.getresponse(); r.read()
        v = r.getheader("X-Model-Version") or "?"
        cnt[v if v in cnt else "?"] += 1
    h.close()
print(cnt["v1"], cnt["v2"], cnt["?"])
PY
}

# --- update: setWeight 20, setHeaderRoute, pause ---
ro_yaml v2 | kubectl apply -f - >/dev/null
wait_for 90 "paused at the pause step" -- ro_is ro Paused/CanaryPauseStep
h1=$(ro_field ro .status.stableRS); h2=$(ro_field ro .status.currentPodHash)
expect_eq "$(rs_spec_avail "ro-$h2")/$(rs_spec_avail "ro-$h1")" "1/1/2/2" \
    "traffic routing: canary ceil(20% x 2) = 1 pod, the stable kept at 2"
expect_eq "$(weights)" "ro-stable=80 ro-canary=20 " "setWeight 20: the HTTPRoute's weights 80/20"
expect_eq "$(ro_field ro .status.canary.weights.canary.weight)/$(ro_field ro .status.canary.weights.stable.weight)/$(ro_field ro .status.canary.weights.verified)" \
    "20/80/true" "status.canary.weights"
read -r n1 n2 nf <<<"$(count 1000 20)"
say "setWeight 20 with 1 canary pod of 3: v1=$n1 v2=$n2 failed=$nf"
expect_eq "$nf" "0" "1000 requests, none failed"
expect_eq "$([ "$n2" -ge 180 ] && [ "$n2" -le 220 ] && echo ok)" "ok" \
    "~20% to the canary whatever the pod counts (v2=$n2 of 1000, 200 +- 20; pods alone would give 333)"
expect_eq "$(kubectl get httproute ro-route -o jsonpath='{.spec.rules[1].name}/{.spec.rules[1].matches[0].headers[0].name}={.spec.rules[1].matches[0].headers[0].value}/{.spec.rules[1].backendRefs[0].name}')" \
    "tester/x-tester=yes/ro-canary" "setHeaderRoute added a header rule to the canary"
read -r n1 n2 nf <<<"$(count 40 4 x-tester:yes)"
expect_eq "$n1/$n2/$nf" "0/40/0" "a tester's header reaches the canary every time"

# --- abort: everything back to the stable at once ---
ro_status_patch ro '{"status":{"abort":true}}'
wait_for 30 "abort: weights 100/0" -- sh_eval '[ "$(weights)" = "ro-stable=100 ro-canary=0 " ]'
expect_eq "$(kubectl get httproute ro-route -o jsonpath='{.spec.rules[*].name}')" "" "abort removed the managed header route"
wait_for 10 "the proxy follows the route" -- sh_eval 'read -r a b c <<<"$(count 20 1 x-tester:yes)"; [ "$b" = 0 ]'
read -r n1 n2 nf <<<"$(count 400 8)"
expect_eq "$n1/$n2/$nf" "400/0/0" "after abort all requests reach the stable"
wait_for 60 "aborted: Degraded" -- sh_eval '[ "$(ro_field ro .status.phase)" = Degraded ]'
# abortScaleDownDelaySeconds (default 30): the canary keeps its pods 30 s after the abort.
cdl() { kubectl get rs "ro-$h2" -o jsonpath='{.metadata.annotations.scale-down-deadline}'; }
wait_for 30 "abort: the canary ReplicaSet gets a scale-down deadline" -- sh_eval '[ -n "$(cdl)" ]'
read -r now spec <<<"$(date +%s) $(kubectl get rs "ro-$h2" -o jsonpath='{.spec.replicas}')"
dl=$(date -d "$(cdl)" +%s)
expect_eq "$((dl - $(date -d "$(ro_field ro .status.abortedAt)" +%s)))" "30" \
    "abort: the deadline is abortedAt + abortScaleDownDelaySeconds (default 30)"
[ "$now" -lt "$((dl - 1))" ] && expect_eq "$spec" "1" "abort: the canary is kept until its deadline" ||
    say "the deadline had passed when checked (load): the canary's count is not checked"

# --- retry and full promotion: the stable Service moves, weights back to 0/100 ---
ro_status_patch ro '{"status":{"abort":false}}'
wait_for 90 "retry pauses again" -- ro_is ro Paused/CanaryPauseStep
expect_eq "$(cdl)" "" "retry: the canary's scale-down deadline is removed"
ro_status_patch ro '{"status":{"promoteFull":true}}'
wait_for 90 "promoted: Healthy" -- ro_is ro Healthy/
expect_eq "$(ro_field ro .status.stableRS)/$(svc_hash ro-stable)" "$h2/$h2" "completion: stable Service on the new hash"
expect_eq "$(weights)" "ro-stable=100 ro-canary=0 " "completion: weights back to 0/100, as the plugin leaves them"
expect_eq "$(kubectl get rs "ro-$h1" -o jsonpath='{.spec.replicas}')" "2" "the previous stable stays up for scaleDownDelaySeconds"
wait_for 60 "the previous stable scales down after its delay" -- sh_eval '[ "$(kubectl get rs "ro-$h1" -o jsonpath="{.spec.replicas}")" = 0 ]'
read -r n1 n2 nf <<<"$(count 200 4)"
expect_eq "$n1/$n2/$nf" "0/200/0" "after completion every request reaches the new version"

# --- bad specs ---
bad() { ro_yaml v3 | sed "$1" | kubectl apply -f - 2>&1; }
expect_match "$(bad 's|^        plugins:|        istio: {virtualService: {name: vs}}\n        plugins:|')" \
    'trafficRouting.istio: Forbidden: kroll routes traffic through the Gateway API' "istio refused by name (422)"
expect_match "$(bad 's|argoproj-labs/gatewayAPI:|example.com/other:|')" \
    'trafficRouting.plugins.example.com/other: Forbidden' "an unknown plugin is refused"
expect_match "$(bad 's|name: tester}|name: other}|')" \
    'setHeaderRoute.name: Invalid value: "tester": SetHeaderRoute has an invalid name' "setHeaderRoute must name a managed route"
expect_match "$(bad 's|exact: "yes"|regex: "y.*"|')" \
    'headerValue: Forbidden: kroll.s Gateway API routes match exact header values only' "regex header values refused"
finish
