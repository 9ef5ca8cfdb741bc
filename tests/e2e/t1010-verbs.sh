#!/bin/bash
# t1010: the generic verbs through kubectl and curl: create (generateName, dryRun, AlreadyExists),
# get/list, update with a stale resourceVersion (409), the three classic patch types, no-op
# patches keeping the resourceVersion, delete with preconditions, grace periods, propagation
# policies, and deletecollection with selectors.
. "$(dirname "$0")/lib.sh"

kroll_start
CM=/api/v1/namespaces/default/configmaps
post() { local p=$1 b=$2; shift 2; api_curl "$p" -X POST -H 'Content-Type: application/json' -d "$b" "$@"; }

# create
out=$(post $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"},"data":{"a":"1"}}')
expect_match "$(jq -r .metadata.name <<<"$out")" '^gen-[a-z0-9]{5}$' "generateName gets a 5-character suffix"
expect_match "$(jq -r .metadata.uid <<<"$out")" '^[0-9a-f-]{36}$' "uid assigned"
expect_match "$(jq -r .metadata.creationTimestamp <<<"$out")" 'Z$' "creationTimestamp set"
expect_match "$(kubectl create configmap dry --from-literal=a=b --dry-run=server -o name)" "configmap/dry" "dry-run=server create answers"
expect_match "$(kubectl get configmap dry 2>&1)" 'configmaps "dry" not found' "dry-run stored nothing"
kubectl create configmap c1 --from-literal=a=1 >/dev/null
expect_match "$(kubectl create configmap c1 --from-literal=a=1 2>&1)" \
    'error: failed to create configmap: configmaps "c1" already exists' "AlreadyExists from a generator"
expect_match "$(kubectl get cm c1 -o json | kubectl create -f - 2>&1)" \
    'Error from server \(AlreadyExists\): error when creating "STDIN": configmaps "c1" already exists' "AlreadyExists"
code=$(post $CM '{"metadata":{"name":"x"}}' -o /dev/null -w '%{http_code}')
expect_eq "$code" "201" "POST answers 201"
expect_match "$(post /api/v1/namespaces/nosuch/configmaps '{"metadata":{"name":"x"}}')" \
    'namespaces \\"nosuch\\" not found' "create in a missing namespace"
expect_match "$(post $CM '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x2"}}')" \
    '"code":400' "kind mismatch rejected"

# update: stale resourceVersion is a 409 Conflict
obj=$(api_curl $CM/c1)
rv=$(jq -r .metadata.resourceVersion <<<"$obj")
new=$(jq '.data.a="2"' <<<"$obj")
out=$(api_curl $CM/c1 -X PUT -H 'Content-Type: application/json' -d "$new")
expect_eq "$(jq -r .data.a <<<"$out")" "2" "PUT with the current resourceVersion"
rv2=$(jq -r .metadata.resourceVersion <<<"$out")
[ "$rv2" -gt "$rv" ] && pass "resourceVersion grows" || fail "resourceVersion $rv2 not > $rv"
out=$(api_curl $CM/c1 -X PUT -H 'Content-Type: application/json' -d "$(jq '.data.a="3"' <<<"$obj")" -w ' %{http_code}')
expect_match "$out" 'the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","code":409.* 409$' "stale PUT is a 409 Conflict"
expect_eq "$(kubectl get cm c1 -o jsonpath='{.data.a}')" "2" "stale PUT stored nothing"
expect_match "$(kubectl replace -f <(jq '.data.a="4"' <<<"$obj") 2>&1)" \
    'Operation cannot be fulfilled on configmaps "c1": the object has been modified' "kubectl replace with a stale object"
out=$(api_curl $CM/nosuch -X PUT -H 'Content-Type: application/json' -d '{"metadata":{"name":"nosuch"}}' -w ' %{http_code}')
expect_match "$out" '404$' "PUT of a missing object is 404"

# patches
expect_eq "$(kubectl patch cm c1 --type=merge -p '{"data":{"b":"x"}}')" "configmap/c1 patched" "merge patch"
expect_eq "$(kubectl patch cm c1 --type=merge -p '{"data":{"b":"x"}}')" "configmap/c1 patched (no change)" "no-op patch"
expect_eq "$(kubectl patch cm c1 --type=json -p '[{"op":"remove","path":"/data/b"},{"op":"add","path":"/data/c","value":"y"}]')" \
    "configmap/c1 patched" "JSON patch"
expect_eq "$(kubectl get cm c1 -o jsonpath='{.data}')" '{"a":"2","c":"y"}' "JSON patch result"
expect_match "$(kubectl patch cm c1 --type=json -p '[{"op":"test","path":"/data/a","value":"9"}]' 2>&1)" \
    'test' "failed JSON patch test op is an error"
expect_match "$(kubectl patch cm c1 --type=json -p '[{"op":"replace","path":"/nosuch/x","value":1}]' 2>&1)" \
    'The request is invalid: .*missing' "JSON patch on a missing path is a 422"
kubectl create deployment web --image=example/web:1 >/dev/null
kubectl patch deploy web -p '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"A","value":"1"}]}]}}}}' >/dev/null
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].name}')" \
    "example/web:1 A" "strategic merge patch merges containers by name"
kubectl set image deploy/web web=example/web:2 >/dev/null
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].value}')" \
    "example/web:2 1" "set image keeps env"
rv=$(kubectl get cm c1 -o jsonpath='{.metadata.resourceVersion}')
expect_match "$(kubectl patch cm c1 --type=merge -p "{\"metadata\":{\"resourceVersion\":\"1\"},\"data\":{\"z\":\"1\"}}" 2>&1)" \
    'Operation cannot be fulfilled' "patch carrying a stale resourceVersion conflicts"
expect_match "$(api_curl $CM/c1 -X PATCH -H 'Content-Type: text/plain' -d '{}' -w ' %{http_code}')" '415$' "unknown patch type 415"

# delete: preconditions, dry run, grace, propagation
expect_match "$(api_curl $CM/c1 -X DELETE -H 'Content-Type: application/json' -d '{"preconditions":{"resourceVersion":"1"}}')" \
    'Precondition failed' "delete precondition on resourceVersion"
expect_match "$(api_curl $CM/c1 -X DELETE -H 'Content-Type: application/json' -d '{"preconditions":{"uid":"nope"}}' -w ' %{http_code}')" \
    'UID in precondition.* 409$' "delete precondition on uid"
expect_match "$(kubectl delete cm c1 --dry-run=server)" 'configmap "c1" deleted \(server dry run\)' "delete dry-run"
expect_rc 0 "object survives dry-run delete" -- kubectl get cm c1
uid=$(kubectl get cm c1 -o jsonpath='{.metadata.uid}')
expect_match "$(api_curl $CM/c1 -X DELETE -H 'Content-Type: application/json' -d "{\"preconditions\":{\"uid\":\"$uid\"}}" -w ' %{http_code}')" \
    ' 200$' "delete with a matching precondition"
expect_match "$(kubectl delete cm c1 2>&1)" 'configmaps "c1" not found' "delete of a missing object"

wait_for 15 "web has a ReplicaSet" -- bash -c 'kubectl get rs -l app=web -o name | grep -q .'
kubectl delete deploy web --cascade=orphan >/dev/null
wait_for 10 "orphan delete removes the deployment" -- bash -c '! kubectl get deploy web'
sleep 1
expect_eq "$(kubectl get rs -l app=web -o jsonpath='{range .items[*]}{.metadata.ownerReferences}{end}' | grep -c Deployment)" "0" \
    "orphaned ReplicaSets keep living without an owner"
expect_match "$(kubectl get rs -l app=web -o name)" 'replicaset.apps/web-' "orphaned ReplicaSet exists"
kubectl delete rs -l app=web >/dev/null

kubectl create deployment fg --image=example/web:1 >/dev/null
wait_for 15 "fg has a ReplicaSet" -- bash -c 'kubectl get rs -l app=fg -o name | grep -q .'
kubectl delete deploy fg --cascade=foreground --wait=false >/dev/null
out=$(kubectl get deploy fg -o jsonpath='{.metadata.finalizers}' 2>/dev/null)
[ -z "$out" ] || expect_match "$out" 'foregroundDeletion' "foreground delete sets the foregroundDeletion finalizer"
wait_for 20 "foreground delete removes dependents then the owner" -- \
    bash -c '! kubectl get deploy fg && test -z "$(kubectl get rs -l app=fg -o name)"'

kubectl create deployment bg --image=example/web:1 >/dev/null
wait_for 15 "bg has pods" -- bash -c 'kubectl get pods -l app=bg -o name | grep -q .'
kubectl delete deploy bg >/dev/null
wait_for 20 "background delete garbage-collects ReplicaSets and pods" -- \
    bash -c 'test -z "$(kubectl get rs,pods -l app=bg -o name)"'

# deletecollection with selectors
for i in 1 2 3; do kubectl create cm "dc$i" --from-literal=a=b >/dev/null; done
kubectl label cm dc1 dc2 group=x >/dev/null
kubectl label cm dc3 group=y >/dev/null
out=$(api_curl "$CM?labelSelector=group%3Dx" -X DELETE)
expect_eq "$(jq -r '.items | length' <<<"$out")" "2" "deletecollection answers the deleted items"
expect_eq "$(kubectl get cm -l group -o name)" "configmap/dc3" "deletecollection honours the selector"
kubectl delete cm --all >/dev/null
expect_eq "$(kubectl get cm -o name | grep -v kube-root-ca | wc -l)" "0" "kubectl delete --all"
finish
