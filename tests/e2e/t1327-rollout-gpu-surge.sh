#!/bin/bash
# t1327: GPU-safe surge for a Rollout (kroll's addition, issue 13; t0364 does the Deployment).
# On a 2-GPU node a 2-replica basic canary of 1-GPU pods cannot surge: without the opt-in the
# Rollout waits exactly as Argo's would (canary 1 Pending, stable 2) but says why at once
# (condition SurgeBlocked, reason InsufficientResource, and a Warning event, from the same code
# as the Deployment's); annotated kroll.dev/surge-fallback=true it rolls with maxSurge 0 and
# maxUnavailable 1 and completes; the condition goes with the old pods.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

dl_images
kroll_start --node-resource nvidia.com/gpu=2 --node-name gpu-node

gpu_ro() { # IMAGE
    ro_manifest g 2 "$1" '    canary: {steps: [{setWeight: 50}]}' |
        sed '/^        image:/a\        resources: {limits: {nvidia.com/gpu: 1}}' |
        kubectl apply -f - >/dev/null
}
surge() { ro_cond g SurgeBlocked "$1"; }

gpu_ro test/app:1
wait_for 60 "2 x 1-GPU Rollout Healthy" -- ro_is g Healthy/
h1=$(ro_field g .status.currentPodHash)
expect_eq "$(surge reason)" "" "no SurgeBlocked condition on a settled Rollout"

gpu_ro test/app:2
blocked() { [ "$(surge reason)" = InsufficientResource ]; }
wait_for 30 "SurgeBlocked/InsufficientResource once the canary pod is Unschedulable" -- blocked
h2=$(ro_field g .status.currentPodHash)
expect_match "$(surge message)" "^Surge pod g-$h2-[a-z0-9]+ cannot be scheduled: Insufficient nvidia.com/gpu, so this rollout waits for capacity\\..* annotate the Rollout kroll.dev/surge-fallback=true" \
    "message names the pod, the resource and both fixes"
expect_eq "$(kubectl get events --field-selector involvedObject.name=g,reason=SurgeBlocked -o jsonpath='{.items[0].type}')" \
    Warning "a Warning event SurgeBlocked on the Rollout"
sleep 3
expect_eq "$(rs_field "g-$h1" .spec.replicas)/$(rs_field "g-$h2" .spec.replicas)" "2/1" \
    "without the opt-in Argo's arithmetic is unchanged: stable 2, canary 1"

kubectl annotate ro g kroll.dev/surge-fallback=true >/dev/null
wait_for 90 "with the opt-in the Rollout completes one pod at a time" -- ro_is g Healthy/
expect_match "$(events_for g)" "SurgeBlocked Surge pod .*replacing one pod at a time \\(maxSurge 0, maxUnavailable 1\\)" \
    "Normal event for the fallback"
expect_eq "$(surge reason)/$(ro_field g .status.stableRS)" "/$h2" "SurgeBlocked removed, the new revision stable"
expect_eq "$(ro_field g .spec.strategy.canary.maxSurge)" "" "the Rollout's own spec is untouched"
expect_eq "$(kubectl get pods -l "app=g,rollouts-pod-template-hash=$h2" --field-selector=status.phase=Running -o name | wc -l)" \
    2 "two new GPU pods running"
finish
