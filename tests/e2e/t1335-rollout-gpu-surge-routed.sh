#!/bin/bash
# t1335: GPU-safe surge for a canary with traffic routing (Argo's Gateway API plugin, done by
# kroll; t1327 does the basic canary). Routed, every canary pod is extra (the stable keeps its
# pods), so on a 2-GPU node a 2-replica canary of 1-GPU pods cannot start its canary at all:
# without the opt-in the Rollout waits as Argo's would (canary 1 Pending, stable 2) but says why
# at once (condition SurgeBlocked, InsufficientResource, a message naming the fix for routed
# canaries); annotated kroll.dev/surge-fallback=true the stable shrinks one pod at a time to
# make room, the route keeps the step's weights, and the rollout completes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

dl_images
kroll_start --node-resource nvidia.com/gpu=2 --node-name gpu-node

svc_apply g-stable g
svc_apply g-canary g
kubectl apply -f - >/dev/null <<'Y'
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: kroll
  listeners: [{name: web, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: g-route}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: g-stable, port: 80, weight: 100}, {name: g-canary, port: 80, weight: 0}]
Y
gpu_ro() { # IMAGE
    ro_manifest g 2 "$1" '    canary:
      canaryService: g-canary
      stableService: g-stable
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI: {httpRoute: g-route, namespace: default}
      steps: [{setWeight: 50}, {pause: {}}]' |
        sed '/^        image:/a\        resources: {limits: {nvidia.com/gpu: 1}}' |
        kubectl apply -f - >/dev/null
}
surge() { ro_cond g SurgeBlocked "$1"; }
weights() { kubectl get httproute g-route -o jsonpath='{range .spec.rules[0].backendRefs[*]}{.name}={.weight} {end}'; }

gpu_ro test/app:1
wait_for 60 "2 x 1-GPU routed Rollout Healthy" -- ro_is g Healthy/
h1=$(ro_field g .status.currentPodHash)
expect_eq "$(surge reason)" "" "no SurgeBlocked condition on a settled Rollout"

gpu_ro test/app:2
blocked() { [ "$(surge reason)" = InsufficientResource ]; }
wait_for 30 "SurgeBlocked/InsufficientResource once the canary pod is Unschedulable" -- blocked
h2=$(ro_field g .status.currentPodHash)
expect_match "$(surge message)" "^Canary pod g-$h2-[a-z0-9]+ cannot be scheduled: Insufficient nvidia.com/gpu, and with traffic routing the stable keeps all its pods, so this rollout waits for capacity\\. Annotate the Rollout kroll.dev/surge-fallback=true" \
    "the message names the pod, the resource and the fix that helps a routed canary"
expect_eq "$(kubectl get events --field-selector involvedObject.name=g,reason=SurgeBlocked -o jsonpath='{.items[0].type}')" \
    Warning "a Warning event SurgeBlocked on the Rollout"
sleep 3
expect_eq "$(rs_field "g-$h1" .spec.replicas)/$(rs_field "g-$h2" .spec.replicas)/$(ro_field g .status.currentStepIndex)" \
    "2/1/0" "without the opt-in Argo's arithmetic is unchanged: stable 2, canary 1, still at step 0"

kubectl annotate ro g kroll.dev/surge-fallback=true >/dev/null
wait_for 90 "with the opt-in the stable makes room and setWeight 50 completes (paused at step 1)" -- \
    ro_is g Paused/CanaryPauseStep
expect_eq "$(rs_spec_avail "g-$h1")/$(rs_spec_avail "g-$h2")" "1/1/1/1" "stable shrank to 1, the canary has its GPU"
expect_eq "$(weights)" "g-stable=50 g-canary=50 " "the route carries the step's weight"
expect_match "$(events_for g)" "SurgeBlocked Canary pod .*scaling the stable down one pod at a time to make room" \
    "Normal event for the fallback"
ro_status_patch g '{"status":{"pauseConditions":null}}'
wait_for 90 "promoted: the rollout completes" -- ro_is g Healthy/
expect_eq "$(surge reason)/$(ro_field g .status.stableRS)/$(weights)" "/$h2/g-stable=100 g-canary=0 " \
    "SurgeBlocked removed, the new revision stable, weights back to 0/100"
expect_eq "$(kubectl get pods -l "app=g,rollouts-pod-template-hash=$h2" --field-selector=status.phase=Running -o name | wc -l)" \
    2 "two new GPU pods running"
finish
