#!/bin/bash
# t1000: the API's fixed surface: health endpoints, /version, aggregated discovery (v2 and
# v2beta1, chosen by the Content-Type kubectl keys on), legacy discovery with shortNames and
# categories, /api/v1 advertising pods/eviction for drain, the OpenAPI v3 stub, and the four
# built-in namespaces.
. "$(dirname "$0")/lib.sh"

kroll_start
for p in /healthz /readyz /livez; do expect_eq "$(api_curl $p)" "ok" "$p answers ok"; done
expect_match "$(api_curl /version)" '"major":"1"' "/version has major"
# Aggregated discovery: the Content-Type is what kubectl switches on.
ct=$(api_curl /apis -o /dev/null -w '%{content_type}' \
    -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json')
expect_eq "$ct" "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" "aggregated v2 content type"
ct=$(api_curl /api -o /dev/null -w '%{content_type}' \
    -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json')
expect_eq "$ct" "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList" "aggregated v2beta1 for kubectl <= 1.29"
agg=$(api_curl /apis -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList')
expect_eq "$(jq -r '.items[] | select(.metadata.name=="apps") | .versions[0].resources[] | select(.resource=="deployments") | .shortNames[0]' <<<"$agg")" "deploy" "deployments short name in aggregated discovery"
expect_eq "$(jq -r '.items[] | select(.metadata.name=="apps") | .versions[0].resources[] | select(.resource=="deployments") | [.subresources[].subresource] | join(",")' <<<"$agg")" "status,scale" "deployments subresources"
# Legacy discovery.
expect_eq "$(api_curl /api | jq -r '.versions[0]')" "v1" "/api lists v1"
expect_match "$(api_curl /apis | jq -r '[.groups[].name] | join(",")')" 'apps.*policy.*discovery.k8s.io' "/apis lists the groups"
v1=$(api_curl /api/v1)
expect_eq "$(jq -r '.resources[] | select(.name=="pods/eviction") | "\(.group)/\(.version) \(.kind)"' <<<"$v1")" "policy/v1 Eviction" "/api/v1 advertises pods/eviction for drain"
expect_eq "$(jq -r '.resources[] | select(.name=="pods") | .categories[0]' <<<"$v1")" "all" "pods in category all"
expect_eq "$(api_curl /apis/apps/v1 | jq -r '.resources[] | select(.name=="replicasets") | .shortNames[0]')" "rs" "legacy /apis/apps/v1 lists rs"
expect_eq "$(api_curl /apis/nosuch/v1 -o /dev/null -w '%{http_code}')" "404" "unknown group 404"
# OpenAPI v3 stub: every kind that may be applied is declared with fieldValidation.
expect_match "$(api_curl /openapi/v3 | jq -r '.paths | keys | join(" ")')" 'api/v1 apis/apps/v1' "openapi v3 root"
expect_eq "$(api_curl /openapi/v3/apis/apps/v1 | jq -r '[.paths[].patch."x-kubernetes-group-version-kind".kind] | sort | join(",")')" \
    "DaemonSet,Deployment,ReplicaSet" "openapi apps/v1 kinds"
expect_eq "$(api_curl /openapi/v3/api/v1 | jq -r '.paths["/configmaps"].patch.parameters[0].name')" "fieldValidation" \
    "openapi declares fieldValidation"
# kubectl through the short names.
for sn in po svc ep cm ev no ns deploy rs ds pdb sa; do
    expect_rc 0 "kubectl get $sn" -- kubectl get "$sn"
done
expect_rc 0 "kubectl get endpointslices" -- kubectl get endpointslices
expect_rc 0 "kubectl get secrets" -- kubectl get secrets
expect_eq "$(kubectl get ns -o name | sort | tr '\n' ' ')" \
    "namespace/default namespace/kube-node-lease namespace/kube-public namespace/kube-system " "built-in namespaces"
kubectl create deployment web --image=example/web:1 >/dev/null
wait_for 10 "get all shows the deployment, its ReplicaSet and pod" -- \
    bash -c 'o=$(kubectl get all -o name); grep -q deployment.apps/web <<<"$o" && grep -q replicaset.apps/web- <<<"$o" && grep -q pod/web- <<<"$o"'
expect_match "$(api_curl /api/v1/nosuch)" '"code":404' "unknown resource answers a Status 404"
expect_match "$(api_curl /apis/apps/v1/namespaces/default/deployments/web/nosub)" '"code":404' "unknown subresource 404"
finish
