#!/bin/bash
# t0364: GPU-safe surge (kroll's addition, issue 13). On a 2-GPU node a 2-replica Deployment of
# 1-GPU pods cannot surge. Without the opt-in the rollout waits exactly as on Kubernetes, but the
# Deployment says why at once: condition SurgeBlocked (reason InsufficientResource, naming the
# resource, the pod and both fixes) and a Warning event. With kroll.dev/surge-fallback=true and a
# PodDisruptionBudget allowing no disruption it still waits (reason DisruptionBudget, naming the
# budget); once the budget allows one, pods are replaced one at a time (SurgeFallback) and the
# rollout completes; the condition goes with the old pods. The next update needs nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start --node-resource nvidia.com/gpu=2 --node-name gpu-node

gpu_apply() { # IMAGE
    dep_manifest g 2 "$1" |
        sed '/^        image:/a\        resources: {limits: {nvidia.com/gpu: 1}}' |
        kubectl apply -f - >/dev/null
}
surge() { dep_cond g SurgeBlocked "$1"; }

gpu_apply test/app:1
wait_for 40 "2 x 1-GPU Deployment available" -- dep_complete g 2
old=$(rs_names g)
expect_eq "$(surge reason)" "" "no SurgeBlocked condition on a settled Deployment"

kubectl set image deploy/g app=test/app:2 >/dev/null
blocked() { [ "$(surge reason)" = InsufficientResource ]; }
wait_for 20 "SurgeBlocked/InsufficientResource once the surge pod is Unschedulable" -- blocked
msg=$(surge message)
expect_eq "$(surge status)" True "condition status True"
expect_match "$msg" "^Surge pod g-[a-z0-9]+-[a-z0-9]+ cannot be scheduled: Insufficient nvidia.com/gpu, so this rollout waits for capacity\." \
    "message names the pod and the resource"
expect_match "$msg" "Set maxSurge: 0 and maxUnavailable: 1 .* annotate the Deployment kroll.dev/surge-fallback=true" \
    "message gives both fixes"
expect_match "$(events_for g)" "SurgeBlocked Surge pod .*Insufficient nvidia.com/gpu" "Warning event SurgeBlocked on the Deployment"
expect_eq "$(kubectl get events --field-selector involvedObject.name=g,reason=SurgeBlocked -o jsonpath='{.items[0].type}')" \
    Warning "the event is a Warning"
expect_match "$(kubectl describe deploy g)" "SurgeBlocked +True +InsufficientResource" "kubectl describe shows the condition"
sleep 3
expect_eq "$(rs_field "$old" .spec.replicas)/$(kubectl get rs -l app=g -o jsonpath='{.items[*].spec.replicas}' | tr ' ' '\n' | sort | tr '\n' ' ')" \
    "2/1 2 " "without the opt-in nothing else changes: old RS 2, new RS 1 (Kubernetes semantics)"

# A budget that allows no disruption: the opt-in waits and says which budget.
kubectl apply -f - >/dev/null <<Y
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: g-pdb}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: g}}
Y
pdb_zero() { [ "$(kubectl get pdb g-pdb -o jsonpath='{.status.disruptionsAllowed}')" = 0 ]; }
wait_for 20 "budget allows no disruption" -- pdb_zero
kubectl annotate deploy g kroll.dev/surge-fallback=true >/dev/null
by_budget() { [ "$(surge reason)" = DisruptionBudget ]; }
wait_for 20 "SurgeBlocked/DisruptionBudget with the opt-in and a full budget" -- by_budget
expect_match "$(surge message)" "and PodDisruptionBudget g-pdb allows no disruption" "message names the budget"
sleep 2
expect_eq "$(rs_field "$old" .spec.replicas)" 2 "the budget is respected: old RS still 2"

# The budget allows one: the fallback replaces pods one at a time and completes.
kubectl patch pdb g-pdb --type=merge -p '{"spec":{"minAvailable":1}}' >/dev/null
wait_for 60 "rollout completes through the fallback" -- dep_complete g 2
expect_match "$(events_for g)" "SurgeBlocked Surge pod .*replacing one pod at a time \(maxSurge 0, maxUnavailable 1\)" \
    "Normal event for the fallback"
gone() { [ -z "$(surge reason)" ]; }
wait_for 10 "SurgeBlocked removed once the old pods are gone" -- gone
expect_eq "$(dep_field g .spec.strategy.rollingUpdate.maxSurge)/$(dep_field g .spec.strategy.rollingUpdate.maxUnavailable)" \
    "25%/25%" "the Deployment's own spec is untouched"
expect_eq "$(kubectl get pods -l app=g --field-selector=status.phase=Running -o name | wc -l)" 2 "two GPU pods running"

# Next update: the same path without any help.
kubectl set image deploy/g app=test/app:3 >/dev/null
wait_for 60 "the next update completes by itself" -- dep_complete g 2
expect_eq "$(kubectl get deploy g -o jsonpath='{.status.updatedReplicas}/{.status.availableReplicas}')" "2/2" "2 updated, 2 available"
kroll_stop
finish
