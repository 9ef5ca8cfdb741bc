#!/bin/bash
# t1040: subresources and namespaces: kubectl scale and the deployments/replicasets scale
# subresource (GET/PATCH/PUT, autoscaling/v1 Scale), the status subresource (status writes
# touch only status, main writes never touch status), generation tracking, the four built-in
# namespaces refusing deletion with kube-apiserver's message, and namespace deletion cascading.
. "$(dirname "$0")/lib.sh"

kroll_start
D=/apis/apps/v1/namespaces/default/deployments
kubectl create deployment web --image=example/web:1 >/dev/null
wait_for 10 "deployment observed" -- sh_eval 'test "$(kubectl get deploy web -o jsonpath='\''{.status.observedGeneration}'\'')" = "$(kubectl get deploy web -o jsonpath='\''{.metadata.generation}'\'')"'
gen=$(kubectl get deploy web -o jsonpath='{.metadata.generation}')
expect_eq "$(kubectl scale deploy web --replicas=3)" "deployment.apps/web scaled" "kubectl scale"
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.replicas} {.metadata.generation}')" "3 $((gen + 1))" "scale changes replicas and bumps generation once"
sc=$(api_curl $D/web/scale)
expect_eq "$(jq -r '"\(.kind) \(.apiVersion) \(.spec.replicas) \(.status.selector)"' <<<"$sc")" "Scale autoscaling/v1 3 app=web" "GET scale"
out=$(api_curl $D/web/scale -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":1}}')
expect_eq "$(jq -r '"\(.kind) \(.spec.replicas)"' <<<"$out")" "Scale 1" "PATCH scale answers a Scale"
out=$(api_curl $D/web/scale -X PUT -H 'Content-Type: application/json' -d "$(jq '.spec.replicas=2' <<<"$sc")")
expect_eq "$(jq -r '.spec.replicas' <<<"$out")" "2" "PUT scale"
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.replicas}')" "2" "deployment follows the scale"
expect_match "$(api_curl $D/web/scale -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":-1}}' -w ' %{http_code}')" \
    '"code":422.* 422$' "negative scale is invalid"
expect_match "$(kubectl scale deploy nosuch --replicas=1 2>&1)" 'deployments.apps "nosuch" not found' "scale of a missing deployment"
wait_for 15 "a ReplicaSet exists" -- bash -c 'kubectl get rs -l app=web -o name | grep -q .'
rs=$(kubectl get rs -l app=web -o jsonpath='{.items[0].metadata.name}')
expect_eq "$(api_curl /apis/apps/v1/namespaces/default/replicasets/$rs/scale | jq -r .kind)" "Scale" "replicasets/scale"

# status subresource
kubectl create configmap x >/dev/null
obj=$(api_curl $D/web)
gen=$(jq -r .metadata.generation <<<"$obj")
out=$(api_curl $D/web -X PUT -H 'Content-Type: application/json' -d "$(jq '.status.replicas=99 | .metadata.labels.extra="1"' <<<"$obj")")
expect_eq "$(jq -r '.metadata.labels.extra' <<<"$out")" "1" "main PUT updates metadata"
[ "$(jq -r '.status.replicas' <<<"$out")" != "99" ] && pass "main PUT ignores status" || fail "main PUT changed status"
expect_eq "$(jq -r '.metadata.generation' <<<"$out")" "$gen" "metadata-only change keeps generation"
obj=$(api_curl $D/web)
out=$(api_curl $D/web/status -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"status":{"observedGeneration":77},"spec":{"replicas":9}}')
expect_eq "$(jq -r '"\(.status.observedGeneration) \(.spec.replicas)"' <<<"$out")" "77 2" "status PATCH changes only status"
expect_eq "$(api_curl $D/web/status | jq -r .kind)" "Deployment" "GET status"

# built-in namespaces cannot be deleted; others cascade
for ns in default kube-system kube-public kube-node-lease; do
    expect_eq "$(kubectl delete namespace "$ns" 2>&1)" \
        "Error from server (Forbidden): namespaces \"$ns\" is forbidden: this namespace may not be deleted" \
        "namespace $ns cannot be deleted"
done
st=$(api_curl /api/v1/namespaces/default -X DELETE)
expect_eq "$(jq -r '"\(.code) \(.reason) \(.details.name) \(.details.kind)"' <<<"$st")" "403 Forbidden default namespaces" "403 Status details"
expect_eq "$(kubectl get ns default -o jsonpath='{.status.phase}')" "Active" "default stays Active"
kubectl create namespace tmp >/dev/null
kubectl -n tmp create configmap c >/dev/null
kubectl -n tmp create deployment d --image=example/web:1 >/dev/null
wait_for 15 "tmp has a pod" -- bash -c 'kubectl -n tmp get pods -o name | grep -q .'
kubectl delete namespace tmp --wait=false >/dev/null
wait_for 40 "namespace deletion cascades and completes" -- bash -c '! kubectl get ns tmp'
expect_eq "$(kubectl get cm,deploy,rs,pods -A --no-headers 2>/dev/null | awk '$1=="tmp"' | wc -l)" "0" "nothing left of tmp"
expect_match "$(kubectl delete namespace nosuch 2>&1)" 'namespaces "nosuch" not found' "delete of a missing namespace"
finish
