#!/bin/bash
# t0310: the endpoints controller keeps Endpoints and EndpointSlices of selector Services in
# step with pods: only pods with an IP that match the selector, not-ready pods under
# notReadyAddresses / ready=false, terminating pods out of Endpoints but in the slice with
# terminating=true, named targetPorts resolved per pod, publishNotReadyAddresses, the blue/green
# selector switch, selector-less Services left alone, and cleanup when the Service goes.
# Pods are bound to a node no kubelet serves, and their status is set through /status.
. "$(dirname "$0")/lib.sh"

kroll_start

# mkpod NAME COLOR [PORTNAME]: a pod labelled app=web,color=COLOR with container port 8080.
mkpod() {
    kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: web, color: $2}}
spec:
  nodeName: ghost-node
  containers:
  - name: c
    image: example/web:1
    ports: [{name: ${3:-http}, containerPort: 8080}]
YAML
}
# podstatus NAME IP READY
podstatus() {
    kubectl patch pod "$1" --subresource=status --type=merge -p \
        "{\"status\":{\"phase\":\"Running\",\"podIP\":\"$2\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"$3\"}]}}" >/dev/null
}
ep_ips() { kubectl get endpoints web -o jsonpath='{.subsets[*].addresses[*].ip}'; }
ep_nr_ips() { kubectl get endpoints web -o jsonpath='{.subsets[*].notReadyAddresses[*].ip}'; }
slice() { kubectl get endpointslices -l kubernetes.io/service-name=web -o json; }
slice_field() { # jsonpath on the (single) slice
    kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath="{.items[*]$1}"
}

kubectl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web, labels: {tier: front}}
spec:
  selector: {app: web, color: blue}
  ports: [{name: http, port: 80, targetPort: http}]
YAML

wait_for 5 "empty Endpoints created for the Service" -- kubectl get endpoints web
expect_eq "$(kubectl get endpoints web -o jsonpath='{.subsets}')" "" "no subsets without pods"
expect_eq "$(kubectl get endpointslices -l kubernetes.io/service-name=web -o name | wc -l)" "1" \
    "one placeholder EndpointSlice"
name=$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[0].metadata.name}')
expect_match "$name" '^web-[a-z0-9]{5}$' "slice named <svc>-<5 chars>"
expect_eq "$(slice_field '.metadata.labels.endpointslice\.kubernetes\.io/managed-by')" \
    "endpointslice-controller.k8s.io" "managed-by label"
expect_eq "$(slice_field '.metadata.ownerReferences[0].kind')/$(slice_field '.metadata.ownerReferences[0].controller')" \
    "Service/true" "slice owned by the Service (controller)"
expect_eq "$(slice_field '.addressType')" "IPv4" "addressType IPv4"

mkpod blue-1 blue
mkpod blue-2 blue
mkpod green-1 green
sleep 0.5
expect_eq "$(kubectl get endpoints web -o jsonpath='{.subsets}')" "" "pods without an IP are not endpoints"
podstatus blue-1 10.1.0.1 True
podstatus blue-2 10.1.0.2 False
podstatus green-1 10.1.0.3 True
wait_for 5 "ready pod listed in Endpoints" -- sh_eval 'test "$(ep_ips)" = "10.1.0.1"'
expect_eq "$(ep_nr_ips)" "10.1.0.2" "not-ready pod under notReadyAddresses"
expect_eq "$(kubectl get endpoints web -o jsonpath='{.subsets[0].ports[0].port}/{.subsets[0].ports[0].name}/{.subsets[0].ports[0].protocol}')" \
    "8080/http/TCP" "named targetPort resolved to the container port"
expect_eq "$(kubectl get endpoints web -o jsonpath='{.subsets[0].addresses[0].targetRef.kind}/{.subsets[0].addresses[0].targetRef.name}/{.subsets[0].addresses[0].nodeName}')" \
    "Pod/blue-1/ghost-node" "address targetRef and nodeName"
expect_eq "$(kubectl get endpoints web -o jsonpath='{.metadata.labels.tier}')" "front" \
    "Endpoints carry the Service labels"
expect_eq "$(slice_field '.endpoints[*].addresses[0]')" "10.1.0.1 10.1.0.2" "slice lists both blue pods"
expect_eq "$(slice_field '.endpoints[*].conditions.ready')" "true false" "slice ready conditions"
expect_eq "$(slice_field '.ports[0].port')" "8080" "slice port resolved"
uid=$(kubectl get pod blue-1 -o jsonpath='{.metadata.uid}')
expect_eq "$(slice_field '.endpoints[0].targetRef.uid')" "$uid" "slice targetRef uid"

# No update storm: an unrelated pod change does not rewrite the objects.
rv_ep=$(kubectl get endpoints web -o jsonpath='{.metadata.resourceVersion}')
rv_sl=$(slice_field '.metadata.resourceVersion')
kubectl label pod blue-1 unrelated=yes >/dev/null
podstatus blue-1 10.1.0.1 True
sleep 0.5
expect_eq "$(kubectl get endpoints web -o jsonpath='{.metadata.resourceVersion}')" "$rv_ep" \
    "Endpoints not rewritten when nothing changed"
expect_eq "$(slice_field '.metadata.resourceVersion')" "$rv_sl" "slice not rewritten when nothing changed"

# Terminating: out of Endpoints, in the slice with ready=false serving=true terminating=true.
kubectl delete pod blue-1 --wait=false >/dev/null
wait_for 5 "terminating pod leaves Endpoints" -- sh_eval 'test "$(ep_ips)" = ""'
expect_eq "$(ep_nr_ips)" "10.1.0.2" "terminating pod not under notReadyAddresses either"
expect_eq "$(slice_field '.endpoints[0].conditions.ready')/$(slice_field '.endpoints[0].conditions.serving')/$(slice_field '.endpoints[0].conditions.terminating')" \
    "false/true/true" "terminating endpoint conditions in the slice"
kubectl delete pod blue-1 --grace-period=0 --force >/dev/null 2>&1
wait_for 5 "removed pod leaves the slice" -- sh_eval 'test "$(slice_field '\''.endpoints[*].addresses[0]'\'')" = "10.1.0.2"'

# publishNotReadyAddresses: every matched pod counts as ready.
kubectl patch svc web --type=merge -p '{"spec":{"publishNotReadyAddresses":true}}' >/dev/null
wait_for 5 "publishNotReadyAddresses lists the unready pod as ready" -- sh_eval 'test "$(ep_ips)" = "10.1.0.2"'
expect_eq "$(slice_field '.endpoints[0].conditions.ready')/$(slice_field '.endpoints[0].conditions.serving')" \
    "true/false" "slice: ready=true, serving follows readiness"
kubectl patch svc web --type=merge -p '{"spec":{"publishNotReadyAddresses":false}}' >/dev/null

# Blue/green: switching the selector switches the endpoints at once.
kubectl patch svc web -p '{"spec":{"selector":{"color":"green"}}}' >/dev/null
wait_for 5 "selector switch moves Endpoints to green" -- sh_eval 'test "$(ep_ips)" = "10.1.0.3"'
expect_eq "$(ep_nr_ips)" "" "blue pods gone after the switch"
expect_eq "$(slice_field '.endpoints[*].targetRef.name')" "green-1" "slice follows the switch"
kubectl patch svc web -p '{"spec":{"selector":{"color":"purple"}}}' >/dev/null
wait_for 5 "selector with no pods empties Endpoints" -- sh_eval 'test "$(kubectl get ep web --no-headers | awk '\''{print $2}'\'')" = "<none>"'

# A pod lacking the named port is left out of that port.
kubectl patch svc web -p '{"spec":{"selector":{"color":"green"}}}' >/dev/null
mkpod green-2 green other
podstatus green-2 10.1.0.4 True
sleep 0.5
expect_eq "$(ep_ips)" "10.1.0.3" "pod without the named port not listed for it"
expect_eq "$(kubectl get endpointslices -l kubernetes.io/service-name=web -o name | wc -l)" "2" \
    "pods with different port mappings get separate slices"

# Selector-less Services: user-managed Endpoints are left alone.
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: ext}
subsets: [{addresses: [{ip: 192.0.2.10}], ports: [{port: 80}]}]
YAML
sleep 0.5
expect_eq "$(kubectl get endpoints ext -o jsonpath='{.subsets[0].addresses[0].ip}')" "192.0.2.10" \
    "user-managed Endpoints kept"
expect_eq "$(kubectl get endpointslices -l kubernetes.io/service-name=ext -o name)" "" \
    "no managed slice for a selector-less Service"

# Deleting the Service deletes its Endpoints and slices.
kubectl delete svc web >/dev/null
wait_for 5 "Endpoints deleted with the Service" -- bash -c '! kubectl get endpoints web'
wait_for 5 "slices deleted with the Service" -- sh_eval 'test -z "$(kubectl get endpointslices -l kubernetes.io/service-name=web -o name)"'
finish
