#!/bin/bash
# t1030: kubectl get output: server-side Table columns per kind as a real cluster prints them
# (default and -o wide), multi-type output with kind prefixes, get all, -A, --show-labels,
# -l selectors (equality and set-based), field selectors, and -o yaml/json/jsonpath/name.
. "$(dirname "$0")/lib.sh"

kroll_start
hdr() { kubectl get "$@" 2>&1 | head -1 | tr -s ' '; }
kubectl create deployment web --image=example/web:1 --replicas=2 >/dev/null
kubectl create service clusterip web --tcp=80:8080 >/dev/null
kubectl create configmap cfg --from-literal=a=b >/dev/null
kubectl label configmap cfg tier=front >/dev/null
kubectl create pdb web --selector=app=web --min-available=1 >/dev/null
wait_for 15 "pods exist" -- sh_eval 'test "$(kubectl get pods -o name | wc -l)" = 2'

expect_eq "$(hdr pods)" "NAME READY STATUS RESTARTS AGE" "pods columns"
expect_eq "$(hdr pods -o wide)" "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES" "pods wide columns"
expect_eq "$(hdr deploy)" "NAME READY UP-TO-DATE AVAILABLE AGE" "deployments columns"
expect_eq "$(hdr deploy -o wide)" "NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR" "deployments wide"
expect_eq "$(hdr rs)" "NAME DESIRED CURRENT READY AGE" "replicasets columns"
expect_eq "$(hdr rs -o wide)" "NAME DESIRED CURRENT READY AGE CONTAINERS IMAGES SELECTOR" "replicasets wide"
expect_eq "$(hdr svc)" "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE" "services columns"
expect_eq "$(hdr svc -o wide)" "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR" "services wide"
expect_eq "$(hdr ep)" "NAME ENDPOINTS AGE" "endpoints columns"
expect_eq "$(hdr endpointslices)" "NAME ADDRESSTYPE PORTS ENDPOINTS AGE" "endpointslices columns"
expect_eq "$(hdr nodes)" "NAME STATUS ROLES AGE VERSION" "nodes columns"
expect_eq "$(hdr nodes -o wide)" "NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME" "nodes wide"
expect_eq "$(hdr pdb)" "NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE" "pdb columns"
expect_eq "$(hdr cm)" "NAME DATA AGE" "configmaps columns"
expect_eq "$(hdr ns)" "NAME STATUS AGE" "namespaces columns"
wait_for 10 "events recorded" -- bash -c 'kubectl get events -o name | grep -q .'
expect_eq "$(hdr events)" "LAST SEEN TYPE REASON OBJECT MESSAGE" "events columns"
expect_eq "$(hdr events -o wide)" "LAST SEEN TYPE REASON OBJECT SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME" "events wide"

# cells
row=$(kubectl get deploy web -o wide --no-headers | tr -s ' ')
expect_match "$row" '^web [0-2]/2 [0-9] [0-9] [0-9]+s web example/web:1 app=web$' "deployment row"
expect_match "$(kubectl get svc web --no-headers | tr -s ' ')" '^web ClusterIP 127\.77\.[0-9.]+ <none> 80/TCP [0-9]+s$' "service row"
expect_match "$(kubectl get pdb web --no-headers | tr -s ' ')" '^web 1 N/A [0-9] [0-9]+s$' "pdb row"
expect_match "$(kubectl get cm cfg --show-labels --no-headers | tr -s ' ')" '^cfg 1 [0-9]+s tier=front$' "--show-labels"
expect_match "$(kubectl get pods -A --no-headers | awk '{print $1}' | sort -u)" '^default$' "-A prints the NAMESPACE column"
expect_eq "$(kubectl get pods -A -o wide | head -1 | awk '{print $1, $2}')" "NAMESPACE NAME" "-A header"

# multi-type and get all
out=$(kubectl get deploy,svc -o name | grep -v service/kubernetes | sort | tr '\n' ' ')
expect_eq "$out" "deployment.apps/web service/web " "multi-type -o name"
out=$(kubectl get all)
expect_match "$out" 'deployment\.apps/web' "get all: deployment with prefix"
expect_match "$out" 'replicaset\.apps/web-' "get all: replicaset"
expect_match "$out" 'service/web ' "get all: service"
expect_match "$out" 'pod/web-' "get all: pods"

# selectors
kubectl create configmap c2 >/dev/null && kubectl label cm c2 tier=back >/dev/null
kubectl create configmap c3 >/dev/null
expect_eq "$(kubectl get cm -l tier=front -o name)" "configmap/cfg" "equality selector"
expect_eq "$(kubectl get cm -l 'tier!=front' -o name | grep -v kube-root | tr '\n' ' ')" "configmap/c2 configmap/c3 " "!= selector matches absent labels too"
expect_eq "$(kubectl get cm -l 'tier in (front,back)' -o name | tr '\n' ' ')" "configmap/c2 configmap/cfg " "in selector"
expect_eq "$(kubectl get cm -l 'tier notin (front)' -o name | grep -v kube-root | tr '\n' ' ')" "configmap/c2 configmap/c3 " "notin selector"
expect_eq "$(kubectl get cm -l 'tier' -o name | tr '\n' ' ')" "configmap/c2 configmap/cfg " "exists selector"
expect_eq "$(kubectl get cm -l '!tier' -o name | grep -v kube-root | tr '\n' ' ')" "configmap/c3 " "not-exists selector"
expect_eq "$(kubectl get cm -l 'tier=front,tier=back' -o name)" "" "comma is AND"
expect_match "$(kubectl get cm -l 'tier in (' 2>&1)" 'unable to parse requirement|found|expected' "bad selector rejected"
expect_eq "$(kubectl get cm --field-selector metadata.name=c2 -o name)" "configmap/c2" "field selector metadata.name"
expect_eq "$(kubectl get cm --field-selector metadata.name!=c2,metadata.namespace=default -o name | grep -v kube-root | tr '\n' ' ')" \
    "configmap/c3 configmap/cfg " "field selector != and namespace"
node=$(kubectl get nodes -o jsonpath='{.items[0].metadata.name}')
expect_eq "$(kubectl get pods -A --field-selector spec.nodeName=$node -o name | wc -l)" "2" "spec.nodeName field selector"
expect_match "$(kubectl get pods --field-selector status.phase=Running,status.phase!=Nope -o name 2>&1; echo rc=$?)" 'rc=0' "status.phase field selector"
expect_match "$(kubectl get cm --field-selector data.a=b 2>&1)" 'field label not supported: data.a' "unsupported field selector"
uid=$(kubectl get deploy web -o jsonpath='{.metadata.uid}')
for sel in "involvedObject.name=web,involvedObject.namespace=default,involvedObject.kind=Deployment,involvedObject.uid=$uid" \
           "involvedObject.uid=$uid,involvedObject.kind=Deployment,involvedObject.name=web,involvedObject.namespace=default"; do
    expect_match "$(kubectl get events --field-selector "$sel" -o jsonpath='{.items[*].reason}')" 'ScalingReplicaSet' \
        "events by involvedObject in any order"
done
expect_match "$(kubectl describe deploy web)" 'ScalingReplicaSet' "describe shows the deployment's events"

# output formats
expect_eq "$(kubectl get cm cfg -o jsonpath='{.data.a}')" "b" "-o jsonpath"
expect_eq "$(kubectl get cm cfg -o name)" "configmap/cfg" "-o name"
expect_eq "$(kubectl get cm cfg -o json | jq -r '.kind + " " + .apiVersion')" "ConfigMap v1" "-o json"
expect_match "$(kubectl get cm cfg -o yaml)" $'apiVersion: v1\ndata:\n  a: b\nkind: ConfigMap' "-o yaml"
expect_eq "$(kubectl get cm -o json | jq -r '.kind')" "List" "-o json list"
expect_eq "$(api_curl /api/v1/namespaces/default/configmaps | jq -r '.kind + " " + (.metadata.resourceVersion | test("^[0-9]+$") | tostring)')" \
    "ConfigMapList true" "list kind and resourceVersion"
expect_match "$(kubectl get cm nosuch 2>&1)" '^Error from server \(NotFound\): configmaps "nosuch" not found$' "NotFound message"
expect_match "$(kubectl get deploy nosuch 2>&1)" 'deployments.apps "nosuch" not found' "NotFound with group"
expect_match "$(kubectl get pods -n empty-ns 2>&1)" 'No resources found in empty-ns namespace' "empty list"
finish
