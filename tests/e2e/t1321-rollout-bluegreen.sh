#!/bin/bash
# t1321: the argoproj.io Rollout, blue-green (progressive-delivery.md checklist 59-63, 66 and
# the blue-green abort of section 7): first deploy points active and preview at the hash; an
# update runs the new ReplicaSet behind the preview Service and pauses (BlueGreenPause) until
# promote; promote switches the active Service and scales the old one down after
# scaleDownDelaySeconds (annotation scale-down-deadline); previewReplicaCount with
# autoPromotionSeconds; abort points both Services back at stable. Plain kubectl patches.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

dl_images
kroll_start

svc_apply bg-active bg
svc_apply bg-preview bg
STRAT='    blueGreen:
      activeService: bg-active
      previewService: bg-preview
      autoPromotionEnabled: false
      scaleDownDelaySeconds: 10
      abortScaleDownDelaySeconds: 2'
ro_manifest bg 3 test/app:1 "$STRAT" | kubectl apply -f - >/dev/null
wait_for 60 "59: first deploy Healthy" -- ro_is bg Healthy/
h1=$(ro_field bg .status.currentPodHash)
expect_eq "$(svc_hash bg-active)/$(svc_hash bg-preview)" "$h1/$h1" "59: active and preview select the hash"
expect_eq "$(ro_field bg .status.blueGreen.activeSelector)/$(ro_field bg .status.blueGreen.previewSelector)/$(ro_field bg .status.stableRS)" \
    "$h1/$h1/$h1" "59: blueGreen selectors and stableRS"
expect_eq "$(ro_field bg .status.HPAReplicas)/$(ro_field bg .status.selector)" "3/app=bg,rollouts-pod-template-hash=$h1" \
    "66: HPAReplicas and selector follow the active RS"
expect_eq "$(ro_field bg .status.currentStepIndex)" "" "blue-green has no currentStepIndex"

# --- update, pause, promote ---
ro_image bg test/app:2
wait_for 60 "60: new RS saturated behind preview, BlueGreenPause" -- ro_is bg Paused/BlueGreenPause
h2=$(ro_field bg .status.currentPodHash)
expect_eq "$(rs_spec_avail "bg-$h2")/$(rs_spec_avail "bg-$h1")" "3/3/3/3" "60: both RSs at 3"
expect_eq "$(svc_hash bg-active)/$(svc_hash bg-preview)" "$h1/$h2" "60: preview on new, active on old"
expect_eq "$(ro_field bg .status.controllerPause)/$(ro_field bg .status.pauseConditions[0].reason)" "true/BlueGreenPause" "60: pause condition"
sleep 2
expect_eq "$(svc_hash bg-active)" "$h1" "60: no switch without promote"
ro_status_patch bg '{"status":{"pauseConditions":null}}'
switched() { [ "$(svc_hash bg-active)" = "$h2" ] && ro_is bg Healthy/; }
wait_for 30 "61: promote switches the active Service, Healthy" -- switched
expect_eq "$(ro_field bg .status.stableRS)/$(ro_field bg .status.blueGreen.activeSelector)" "$h2/$h2" "61: stableRS and activeSelector"
expect_match "$(rs_field "bg-$h1" '.metadata.annotations.scale-down-deadline')" "^20" "61: old RS annotated scale-down-deadline"
expect_eq "$(rs_field "bg-$h1" .spec.replicas)" "3" "61: old RS kept during the delay"
down() { [ "$(rs_field "bg-$h1" .spec.replicas)" = 0 ]; }
wait_for 30 "61: old RS scaled to 0 after scaleDownDelaySeconds" -- down
expect_match "$(events_for bg)" "RolloutCompleted Rollout completed update to revision 2 \\($h2\\): Completed blue-green update" "65: completion event"

# --- previewReplicaCount + autoPromotionSeconds ---
kubectl patch ro bg --type merge -p '{"spec":{"strategy":{"blueGreen":{"autoPromotionEnabled":null,"autoPromotionSeconds":3,"previewReplicaCount":1}}}}' >/dev/null
ro_image bg test/app:3
h3=""
preview1() { h3=$(ro_field bg .status.currentPodHash); [ "$h3" != "$h2" ] && [ "$(rs_spec_avail "bg-$h3")" = "1/1" ]; }
wait_for 60 "62: previewReplicaCount 1 runs one new pod" -- preview1
expect_eq "$(svc_hash bg-active)/$(svc_hash bg-preview)" "$h2/$h3" "62: preview on the new RS"
t0=$(date +%s)
auto() { [ "$(svc_hash bg-active)" = "$h3" ]; }
wait_for 60 "63: auto-promotion after autoPromotionSeconds" -- auto
el=$(( $(date +%s) - t0 ))
[ "$el" -ge 2 ] && pass "63: switch waited ($el s)" || fail "63: switched after $el s"
expect_eq "$(rs_field "bg-$h3" .spec.replicas)" "3" "62: scaled to replicas before the switch"

# --- 72: revisionHistoryLimit keeps one scaled-down old ReplicaSet ---
kubectl patch ro bg --type merge -p '{"spec":{"revisionHistoryLimit":1}}' >/dev/null
hist() { [ "$(rs_names bg | sort | tr '\n' ' ')" = "$(printf '%s\n' "bg-$h2" "bg-$h3" | sort | tr '\n' ' ')" ]; }
wait_for 30 "72: revision 1 deleted, revision 2 kept (at 0), revision 3 active" -- hist

# --- abort ---
kubectl patch ro bg --type merge -p '{"spec":{"strategy":{"blueGreen":{"autoPromotionEnabled":false,"autoPromotionSeconds":null,"previewReplicaCount":null}}}}' >/dev/null
ro_image bg test/app:4
wait_for 60 "v4 paused behind preview" -- ro_is bg Paused/BlueGreenPause
h4=$(ro_field bg .status.currentPodHash)
ro_status_patch bg '{"status":{"abort":true}}'
wait_for 30 "abort: Degraded RolloutAborted" -- ro_is bg "Degraded/RolloutAborted: Rollout aborted update to revision 4"
expect_eq "$(svc_hash bg-active)/$(svc_hash bg-preview)" "$h3/$h3" "abort: both Services on stable"
abort_down() { [ "$(rs_field "bg-$h4" .spec.replicas)" = 0 ]; }
wait_for 30 "abort: preview RS scaled down after abortScaleDownDelaySeconds" -- abort_down

# --- 71: deletion: ReplicaSets go with the Rollout, Services are released ---
kubectl delete ro bg >/dev/null
released() { [ -z "$(svc_hash bg-active)$(svc_hash bg-preview)" ] &&
    [ -z "$(kubectl get svc bg-active -o jsonpath='{.metadata.annotations.argo-rollouts\.argoproj\.io/managed-by-rollouts}')" ]; }
wait_for 30 "71: Services lose the hash key and the managed-by annotation" -- released
expect_eq "$(kubectl get svc bg-active -o jsonpath='{.spec.selector}')" '{"app":"bg"}' "71: the user's selector is left"
no_rs() { [ -z "$(rs_names bg)" ]; }
wait_for 60 "71: ReplicaSets deleted with the Rollout" -- no_rs

out=$(ro_manifest bad 1 test/app:1 '    blueGreen: {activeService: a, previewService: a}' | kubectl apply -f - 2>&1)
expect_match "$out" "spec.strategy.blueGreen.previewService: Invalid value: \"a\": This rollout uses the same service for the active and preview services" "same active and preview refused"
finish
