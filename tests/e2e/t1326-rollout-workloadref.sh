#!/bin/bash
# t1326: a Rollout with spec.workloadRef takes the tutorial's Deployment over without rewriting
# it (progressive-delivery.md section 2.1): the template and selector come from the Deployment,
# its generation is stamped (annotation rollout.argoproj.io/workload-generation,
# status.workloadObservedGeneration), a change of the Deployment's template starts a new
# Rollout revision, `kroll rollouts set image` / `undo` patch the Deployment as Argo's plugin
# does; scaleDown onsuccess scales the Deployment to 0 once revision 1 is Healthy,
# progressively ends there too, never leaves it; a missing Deployment is Argo's InvalidSpec;
# a template beside workloadRef is refused with 422.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

dl_images
kroll_start

wr_manifest() { # NAME DEPLOYMENT SCALEDOWN [extra spec lines]
    cat <<Y
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: $1}
spec:
  replicas: 2
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: $2, scaleDown: $3}
  strategy:
    canary: {steps: [{setWeight: 50}, {pause: {}}]}
${4:-}
Y
}
wr_gen() { kubectl get ro "$1" -o jsonpath='{.metadata.annotations.rollout\.argoproj\.io/workload-generation}/{.status.workloadObservedGeneration}'; }

# --- bad specs ---
out=$(wr_manifest bad web onsuccess '  template: {metadata: {labels: {app: web}}}' | kubectl apply -f - 2>&1)
expect_match "$out" "spec.template: Internal error: template must be empty for workload reference rollout" \
    "a template beside workloadRef: 422 with Argo's words"
out=$(wr_manifest bad web sometimes | sed 's/kind: Deployment/kind: StatefulSet/' | kubectl apply -f - 2>&1)
expect_match "$out" "spec.workloadRef: Forbidden: kroll takes the pod template from an apps/v1 Deployment only" \
    "a StatefulSet reference is refused by name"
expect_match "$out" "spec.workloadRef.scaleDown: Unsupported value: \"sometimes\"" "an unknown scaleDown is refused"

# --- the tutorial's Deployment, taken over with scaleDown: onsuccess ---
dep_apply web 2 test/app:1
wait_for 60 "the Deployment runs 2 pods" -- dep_complete web 2
wr_manifest web-ro web onsuccess | kubectl apply -f - >/dev/null
wait_for 60 "the Rollout is Healthy on the Deployment's template" -- ro_is web-ro Healthy/
h1=$(ro_field web-ro .status.currentPodHash)
expect_eq "$(kubectl get pods -l "app=web,rollouts-pod-template-hash=$h1" -o name | wc -l)" "2" \
    "2 Rollout pods with the Deployment's labels"
expect_eq "$(kubectl get rs "web-ro-$h1" -o jsonpath='{.spec.template.spec.containers[0].image}')" "test/app:1" \
    "the ReplicaSet has the Deployment's image"
g=$(dep_field web .metadata.generation)
expect_eq "$(wr_gen web-ro)" "$g/$g" "workload-generation annotation and status.workloadObservedGeneration"
expect_eq "$(ro_field web-ro .status.selector)" "app=web" "the selector comes from the Deployment"
wait_for 30 "onsuccess: the Deployment is scaled to 0 once revision 1 is Healthy" -- eval '[ "$(dep_field web .spec.replicas)" = 0 ]'
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')" "test/app:1" \
    "the Deployment's template is untouched"

# --- set image goes to the Deployment; a new revision of the Rollout follows ---
expect_eq "$(kr set image web-ro app=test/app:2)" 'rollout "web-ro" image updated' "kroll rollouts set image"
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')" "test/app:2" \
    "set image patched the Deployment"
wait_for 60 "the Deployment's new template is a new revision (paused at step 1)" -- ro_is web-ro Paused/CanaryPauseStep
h2=$(ro_field web-ro .status.currentPodHash)
expect_eq "$(kubectl get rs "web-ro-$h2" -o jsonpath='{.metadata.annotations.rollout\.argoproj\.io/revision}/{.spec.template.spec.containers[0].image}')" \
    "2/test/app:2" "revision 2 with the new image"
g=$(dep_field web .metadata.generation)
expect_eq "$(wr_gen web-ro)" "$g/$g" "the generation follows the Deployment"
ro_status_patch web-ro '{"status":{"pauseConditions":null}}'
wait_for 60 "revision 2 completes" -- ro_is web-ro Healthy/
expect_eq "$(dep_field web .spec.replicas)" "0" "the Deployment stays at 0"

# --- undo goes to the Deployment too ---
expect_eq "$(kr undo web-ro)" "rollout 'web-ro' undo" "kroll rollouts undo"
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')" "test/app:1" \
    "undo patched the Deployment's template back"
wait_for 60 "the undo is a new update of the Rollout (steps run)" -- ro_is web-ro Paused/CanaryPauseStep
expect_eq "$(ro_field web-ro .status.currentPodHash)" "$h1" "the revision-1 ReplicaSet is the canary"

# --- a missing Deployment; scaleDown never ---
wr_manifest ghost nope never | kubectl apply -f - >/dev/null
wait_for 30 "a missing Deployment is Argo's InvalidSpec" -- \
    ro_is ghost "Degraded/InvalidSpec: The Rollout \"ghost\" is invalid: deployments.apps \"nope\" not found"
dep_apply nope 1 test/app:1
wait_for 60 "creating the Deployment lets the Rollout run" -- ro_is ghost Healthy/
sleep 2
expect_eq "$(dep_field nope .spec.replicas)" "1" "never: the Deployment keeps its replicas"

# --- scaleDown progressively ends with the Deployment at 0 ---
dep_apply pd 2 test/app:1
wait_for 60 "pd runs 2 pods" -- dep_complete pd 2
wr_manifest prog pd progressively | kubectl apply -f - >/dev/null
wait_for 60 "progressively: the Rollout is Healthy" -- ro_is prog Healthy/
wait_for 30 "progressively: the Deployment ends at 0" -- eval '[ "$(dep_field pd .spec.replicas)" = 0 ]'
finish
