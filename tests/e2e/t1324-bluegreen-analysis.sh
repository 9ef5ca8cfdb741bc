#!/bin/bash
# t1324: blue-green pre- and post-promotion analysis (progressive-delivery.md checklist 64, 65
# and section 6.4). Two AnalysisTemplates read pre.json / post.json from a local python3
# http.server. Good pre and post -> the pre run (`<ro>-<hash>-<rev>-pre`, PrePromotion) gates
# the switch, the post run (`-post`, PostPromotion) holds the new ReplicaSet short of stable
# ("waiting for analysis to complete", the old one kept up) and then marks it stable; bad pre -> abort, active stays
# on stable, preview ReplicaSet scaled down after abortScaleDownDelaySeconds; bad post -> abort
# switches the active Service back to the stable hash; Inconclusive pre -> paused
# InconclusiveAnalysisRun until promote, which starts a fresh run; a pre metric that never
# ends (interval, no count) -> InvalidSpec.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

dl_images
kroll_start

WEB=$TEST_DIR/www
mkdir -p "$WEB"
echo '{"ok":true}' >"$WEB/pre.json"
echo '{"ok":true}' >"$WEB/post.json"
(cd "$WEB" && exec /usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1) >"$TEST_DIR/http.log" 2>&1 &
HTTPD=$!
KROLL_PIDS="$KROLL_PIDS $HTTPD"
wait_for 10 "http.server is up" -- grep -q 'port [0-9]' "$TEST_DIR/http.log"
HP=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$TEST_DIR/http.log" | head -1)

kubectl apply -f - >/dev/null <<YAML || fail "apply templates"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: pre-web}
spec:
  metrics:
  - name: pre
    successCondition: result.ok == true
    failureCondition: result.ok == false
    provider: {web: {url: "http://127.0.0.1:$HP/pre.json"}}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: post-web}
spec:
  metrics:
  - name: post
    initialDelay: 8s
    successCondition: result.ok == true
    failureCondition: result.ok == false
    provider: {web: {url: "http://127.0.0.1:$HP/post.json"}}
YAML

out=$(ro_manifest bad 1 test/app:1 '    blueGreen: {activeService: a, postPromotionAnalysis: {templates: []}}' | kubectl apply -f - 2>&1)
expect_match "$out" "spec.strategy.blueGreen.postPromotionAnalysis.templates: Required value: analysis must reference at least one template" \
    "post-promotion analysis without templates refused (422)"

svc_apply bg-active bg
svc_apply bg-preview bg
STRAT='    blueGreen:
      activeService: bg-active
      previewService: bg-preview
      autoPromotionEnabled: false
      scaleDownDelaySeconds: 1
      abortScaleDownDelaySeconds: 2
      prePromotionAnalysis: {templates: [{templateName: pre-web}]}
      postPromotionAnalysis: {templates: [{templateName: post-web}]}'
ro_manifest bg 2 test/app:1 "$STRAT" | kubectl apply -f - >/dev/null
wait_for 60 "first deploy Healthy (no analysis)" -- ro_is bg Healthy/
expect_eq "$(kubectl get ar -o name)" "" "the first deploy creates no AnalysisRun"
h1=$(ro_field bg .status.currentPodHash)
promote() { ro_status_patch bg '{"status":{"pauseConditions":null}}'; }
bgst() { ro_field bg ".status.blueGreen.$1.status"; }

# --- good pre and post ---
ro_image bg test/app:2
wait_for 60 "paused behind preview, pre-promotion run Successful" -- eval 'ro_is bg Paused/BlueGreenPause && [ "$(bgst prePromotionAnalysisRunStatus)" = Successful ]'
h2=$(ro_field bg .status.currentPodHash)
expect_eq "$(kubectl get ar "bg-$h2-2-pre" -o jsonpath='{.status.phase}/{.metadata.labels.rollout-type}/{.metadata.labels.rollouts-pod-template-hash}/{.metadata.labels.app}')" \
    "Successful/PrePromotion/$h2/bg" "run bg-$h2-2-pre, rollout-type PrePromotion"
expect_eq "$(ro_field bg .status.blueGreen.prePromotionAnalysisRunStatus.name)" "bg-$h2-2-pre" "status.blueGreen.prePromotionAnalysisRunStatus"
expect_eq "$(svc_hash bg-active)/$(svc_hash bg-preview)" "$h1/$h2" "active on stable, preview on new"
promote
wait_for 30 "switched, post-promotion analysis pending" -- ro_is bg "Progressing/waiting for analysis to complete"
expect_eq "$(svc_hash bg-active)/$(ro_field bg .status.blueGreen.activeSelector)/$(ro_field bg .status.stableRS)" "$h2/$h2/$h1" \
    "65: active on the new hash, stableRS still the old one"
sleep 2
expect_eq "$(rs_field "bg-$h1" .spec.replicas)/$(ro_phase bg)" "2/Progressing/waiting for analysis to complete" \
    "the old (still stable) ReplicaSet stays up past its scale-down deadline while post-promotion analysis runs"
expect_eq "$(kubectl get ar "bg-$h2-2-post" -o jsonpath='{.metadata.labels.rollout-type}')" "PostPromotion" "run bg-$h2-2-post, rollout-type PostPromotion"
wait_for 60 "65: post-promotion Successful -> stable, Healthy" -- eval 'ro_is bg Healthy/ && [ "$(ro_field bg .status.stableRS)" = "$h2" ]'
expect_eq "$(bgst postPromotionAnalysisRunStatus)" "Successful" "status.blueGreen.postPromotionAnalysisRunStatus"
expect_match "$(events_for bg)" "RolloutCompleted Rollout completed update to revision 2 \\($h2\\): Completed blue-green update" "65: completion event"
old_down() { [ "$(rs_field "bg-$h1" .spec.replicas)" = 0 ]; }
wait_for 30 "old ReplicaSet scaled down once the new one is stable" -- old_down

# --- bad pre: abort, active stays on stable ---
echo '{"ok":false}' >"$WEB/pre.json"
ro_image bg test/app:3
pre_failed() { ro_is bg "Degraded/RolloutAborted: Rollout aborted update to revision 3: Blue/green pre-promotion analysis phase error/failed: Metric \"pre\" assessed Failed due to failed (1) > failureLimit (0)"; }
wait_for 60 "64: Failed pre-promotion run aborts with Argo's message" -- pre_failed
h3=$(ro_field bg .status.currentPodHash)
expect_eq "$(kubectl get ar "bg-$h3-3-pre" -o jsonpath='{.status.phase}')/$(bgst prePromotionAnalysisRunStatus)" "Failed/Failed" "64: run and status Failed"
expect_eq "$(svc_hash bg-active)/$(ro_field bg .status.stableRS)" "$h2/$h2" "64: active stays on stable"
pre_down() { [ "$(rs_field "bg-$h3" .spec.replicas)" = 0 ]; }
wait_for 30 "64: preview ReplicaSet scaled down after abortScaleDownDelaySeconds" -- pre_down
expect_eq "$(kubectl get ar "bg-$h3-3-post" -o name 2>/dev/null)" "" "no post-promotion run without a switch"

# --- bad post: retry, promote, the post run fails, active switches back ---
echo '{"ok":true}' >"$WEB/pre.json"
echo '{"ok":false}' >"$WEB/post.json"
ro_status_patch bg '{"status":{"abort":false}}'
wait_for 60 "retry: fresh pre run bg-$h3-3-pre.1 Successful, paused" -- eval 'ro_is bg Paused/BlueGreenPause && [ "$(kubectl get ar "bg-$h3-3-pre.1" -o jsonpath="{.status.phase}")" = Successful ]'
promote
post_failed() { ro_is bg "Degraded/RolloutAborted: Rollout aborted update to revision 3: Blue/green post-promotion analysis phase error/failed: Metric \"post\" assessed Failed due to failed (1) > failureLimit (0)"; }
wait_for 60 "65: Failed post-promotion run aborts" -- post_failed
wait_for 30 "65: the active Service is switched back to the stable hash" -- eval '[ "$(svc_hash bg-active)" = "$h2" ]'
expect_eq "$(ro_field bg .status.stableRS)/$(ro_field bg .status.blueGreen.activeSelector)/$(rs_field "bg-$h2" .spec.replicas)" "$h2/$h2/2" \
    "65: stable unchanged and still at full size"
expect_eq "$(rs_field "bg-$h2" '.metadata.annotations.scale-down-deadline')" "" "the stable ReplicaSet lost its switch deadline"

# --- Inconclusive pre (auto-promotion on): paused until promote, then a fresh run ---
echo '{"ok":"maybe"}' >"$WEB/pre.json"
echo '{"ok":true}' >"$WEB/post.json"
kubectl patch ro bg --type merge -p '{"spec":{"strategy":{"blueGreen":{"autoPromotionEnabled":null}}}}' >/dev/null
ro_status_patch bg '{"status":{"abort":false}}'
wait_for 60 "Inconclusive pre-promotion run pauses (InconclusiveAnalysisRun)" -- ro_is bg Paused/InconclusiveAnalysisRun
expect_eq "$(kubectl get ar "bg-$h3-3-pre.2" -o jsonpath='{.status.phase}')/$(bgst prePromotionAnalysisRunStatus)" "Inconclusive/Inconclusive" "run bg-$h3-3-pre.2 Inconclusive"
sleep 2
expect_eq "$(svc_hash bg-active)" "$h2" "no switch while Inconclusive"
echo '{"ok":true}' >"$WEB/pre.json"
promote
wait_for 90 "promote: a fresh pre run, switch, post, Healthy on the new revision" -- eval 'ro_is bg Healthy/ && [ "$(ro_field bg .status.stableRS)" = "$h3" ]'
expect_eq "$(kubectl get ar "bg-$h3-3-pre.3" -o jsonpath='{.status.phase}')/$(svc_hash bg-active)" "Successful/$h3" "fresh run bg-$h3-3-pre.3 Successful, active on the new hash"
expect_eq "$(ro_field bg .status.controllerPause)" "" "controllerPause cleared"

# --- 51: a pre-promotion metric that never ends (interval, no count) is InvalidSpec ---
kubectl patch at pre-web --type json -p '[{"op":"add","path":"/spec/metrics/0/interval","value":"1s"}]' >/dev/null
ro_image bg test/app:4
indef="InvalidSpec: The Rollout \"bg\" is invalid: spec.strategy.blueGreen.prePromotionAnalysis.templates: Invalid value: \"pre-web\": AnalysisTemplate pre-web has metric pre which runs indefinitely. Invalid value for count: <nil>"
wait_for 60 "51: an unbounded pre-promotion metric makes the Rollout Degraded (InvalidSpec)" -- ro_is bg "Degraded/$indef"
h4=$(ro_field bg .status.currentPodHash)
expect_eq "$(kubectl get ar "bg-$h4-4-pre" -o name 2>/dev/null)/$(svc_hash bg-active)" "/$h3" "no run made, active stays on stable"
finish
