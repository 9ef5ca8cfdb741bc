#!/bin/bash
# t0356: minReadySeconds gates availability (item 27); the /scale subresource (e2e scenario 8);
# the Deployment lifecycle with label/replica/image patches, /status read/update/patch seen by
# watchers and delete by label (scenarios 11, 12).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start

# --- 27 ---
dep_apply mr 1 test/app:1 "  minReadySeconds: 10"
ready1() { [ "$(dep_field mr .status.readyReplicas)" = 1 ]; }
wait_for 20 "mr: pod ready" -- ready1
pod=$(kubectl get pods -l app=mr -o jsonpath='{.items[0].metadata.name}')
expect_eq "$(kubectl get pod "$pod" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" "True" "pod Ready"
t_ready=$(date -d "$(kubectl get pod "$pod" -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')" +%s)
avail1() { [ "$(dep_field mr .status.availableReplicas)" = 1 ]; }
early=0 condtrue=0
while [ "$(date +%s)" -lt $((t_ready + 10)) ]; do
    avail1 && early=1
    [ "$(dep_cond mr Available status)" = True ] && condtrue=1
    sleep 0.5
done
expect_eq "$early" "0" "item 27: not available during the first 10 s after Ready"
expect_eq "$condtrue" "0" "item 27: Available False meanwhile"
wait_for 6 "item 27: available soon after 10 s" -- avail1
expect_eq "$(dep_cond mr Available status)" "True" "Available True after minReadySeconds"

# --- scenario 8: /scale ---
dep_apply sc 1 test/app:1
wait_for 20 "sc complete" -- dep_complete sc 1
scale=$(api_curl /apis/apps/v1/namespaces/default/deployments/sc/scale)
expect_eq "$(echo "$scale" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["kind"], s["apiVersion"], s["spec"]["replicas"], s["status"]["replicas"], s["status"]["selector"])')" \
    "Scale autoscaling/v1 1 1 app=sc" "scenario 8: GET /scale"
put=$(echo "$scale" | python3 -c 'import json,sys; s=json.load(sys.stdin); s["spec"]["replicas"]=2; print(json.dumps(s))')
out=$(api_curl /apis/apps/v1/namespaces/default/deployments/sc/scale -X PUT -H 'Content-Type: application/json' -d "$put")
expect_match "$out" '"replicas": ?2' "scenario 8: PUT /scale"
expect_eq "$(dep_field sc .spec.replicas)" "2" "scenario 8: PUT /scale updates spec.replicas"
api_curl /apis/apps/v1/namespaces/default/deployments/sc/scale -X PATCH \
    -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":3}}' >/dev/null
expect_eq "$(dep_field sc .spec.replicas)" "3" "scenario 8: PATCH /scale updates spec.replicas"
wait_for 20 "scaled deployment completes" -- dep_complete sc 3
out=$(api_curl /apis/apps/v1/namespaces/default/deployments/sc/scale -X PATCH \
    -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":-1}}')
expect_match "$out" '"code": ?422' "negative replicas through /scale rejected"

# --- scenarios 11 and 12 ---
dep_apply lc 1 test/app:1
wait_for 20 "scenario 11: created and ready" -- dep_complete lc 1
kubectl patch deploy lc --type=merge -p '{"metadata":{"labels":{"test-deployment":"patched"}},"spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"app","image":"test/app:2"}]}}}}' >/dev/null
wait_for 30 "scenario 11: patched labels/replicas/image roll out" -- dep_complete lc 2
expect_eq "$(kubectl get deploy -l test-deployment=patched -o name)" "deployment.apps/lc" "scenario 11: list by the patched label"
kubectl get deploy lc -o json | python3 -c '
import json, sys
d = json.load(sys.stdin)
d["spec"]["replicas"] = 1
d["spec"]["template"]["spec"]["containers"][0]["image"] = "test/app:3"
print(json.dumps(d))' | kubectl replace -f - >/dev/null
wait_for 30 "scenario 11: update image/replicas rolls out" -- dep_complete lc 1
expect_eq "$(kubectl get rs -l app=lc -o jsonpath='{.items[?(@.spec.replicas==1)].spec.template.spec.containers[0].image}')" \
    "test/app:3" "scenario 11: the live RS runs the updated image"
# /status: watchers see each write.
api_curl "/apis/apps/v1/namespaces/default/deployments?fieldSelector=metadata.name%3Dlc&watch=1&timeoutSeconds=30" -N \
    >"$TEST_DIR/watch.status" 2>/dev/null &
WPID=$!
KROLL_PIDS="$KROLL_PIDS $WPID"
sleep 0.3
st=$(api_curl /apis/apps/v1/namespaces/default/deployments/lc/status)
expect_eq "$(echo "$st" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["replicas"])')" "1" \
    "scenario 12: GET /status"
upd=$(echo "$st" | python3 -c '
import json, sys
d = json.load(sys.stdin)
d["status"]["conditions"].append({"type": "StatusUpdate", "status": "True", "reason": "E2E", "message": "Set from e2e test"})
print(json.dumps(d))')
out=$(api_curl /apis/apps/v1/namespaces/default/deployments/lc/status -X PUT -H 'Content-Type: application/json' -d "$upd")
expect_match "$out" '"StatusUpdate"' "scenario 12: PUT /status adds a condition"
out=$(api_curl /apis/apps/v1/namespaces/default/deployments/lc/status -X PATCH \
    -H 'Content-Type: application/strategic-merge-patch+json' \
    -d '{"status":{"conditions":[{"type":"StatusPatched","status":"True","reason":"E2E"}]}}')
expect_match "$out" '"StatusPatched"' "scenario 12: PATCH /status (strategic merge) adds a condition"
expect_match "$out" '"StatusUpdate"' "scenario 12: conditions merged by type, earlier ones kept"
out=$(api_curl /apis/apps/v1/namespaces/default/deployments/lc/status -X PATCH \
    -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":5}}')
expect_eq "$(dep_field lc .spec.replicas)" "1" "scenario 12: spec changes through /status are ignored"
sleep 0.5
kill "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null
expect_match "$(grep -c StatusUpdate "$TEST_DIR/watch.status")" '^[1-9]' "scenario 12: the watcher saw the status update"
expect_match "$(grep -c StatusPatched "$TEST_DIR/watch.status")" '^[1-9]' "scenario 12: the watcher saw the status patch"
expect_eq "$(kubectl delete deploy -l test-deployment=patched)" 'deployment.apps "lc" deleted' "scenario 11: delete by label"
lc_gone() { [ -z "$(kubectl get deploy,rs,pods -l app=lc -o name)" ]; }
wait_for 20 "scenario 11: everything of lc gone" -- lc_gone
finish
