#!/bin/bash
# t0340: namespace deletion. A deleted namespace turns Terminating, refuses new content, has
# every namespaced object deleted (Deployments with their ReplicaSets and pods, Services with
# their Endpoints and slices, ConfigMaps, PDBs...), and disappears once empty; other namespaces
# are untouched; the built-in namespaces cannot be deleted.
. "$(dirname "$0")/lib.sh"

kroll_start

kubectl create namespace doomed >/dev/null
kubectl create namespace keep >/dev/null
kubectl -n doomed create configmap cfg --from-literal=k=v >/dev/null
kubectl -n keep create configmap cfg --from-literal=k=v >/dev/null
kubectl -n doomed create deployment web --image=example/web:1 --replicas=2 >/dev/null
kubectl -n doomed create service clusterip web --tcp=80:8080 >/dev/null
kubectl -n doomed apply -f - >/dev/null <<'YAML'
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
YAML
wait_for 10 "doomed has its pods" -- sh_eval 'test "$(kubectl -n doomed get pods -o name | wc -l)" = 2'
wait_for 5 "doomed has Endpoints" -- kubectl -n doomed get endpoints web

expect_eq "$(kubectl get ns doomed -o jsonpath='{.spec.finalizers}')" '["kubernetes"]' \
    "a namespace carries the kubernetes finalizer"
kubectl -n doomed apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: held, finalizers: [example.com/hold]}
YAML
kubectl delete namespace doomed --wait=false >/dev/null
expect_eq "$(kubectl get ns doomed -o jsonpath='{.status.phase}')" "Terminating" "deleted namespace is Terminating"
expect_match "$(kubectl -n doomed create configmap late 2>&1)" \
    'forbidden: unable to create new content in namespace doomed because it is being terminated' \
    "no new content in a terminating namespace"
wait_for 10 "content deleted while an object with a finalizer remains" -- \
    test "$(kubectl -n doomed get all,cm,pdb,ep,endpointslices --no-headers 2>/dev/null | wc -l)" = 1
sleep 0.5
expect_eq "$(kubectl get ns doomed -o jsonpath='{.status.phase}')" "Terminating" \
    "namespace waits for the object with a finalizer"
kubectl -n doomed patch configmap held --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
wait_for 15 "namespace removed once empty" -- bash -c '! kubectl get ns doomed'
for r in configmaps deployments replicasets pods services endpoints endpointslices poddisruptionbudgets; do
    expect_eq "$(kubectl get "$r" -A --no-headers 2>/dev/null | awk '$1 == "doomed"' | wc -l)" "0" \
        "no $r left in doomed"
done
expect_eq "$(kubectl -n keep get configmap cfg -o jsonpath='{.data.k}')" "v" "other namespace untouched"

# Recreating a namespace with the same name works and it starts empty.
kubectl create namespace doomed >/dev/null
expect_eq "$(kubectl -n doomed get configmaps -o name | grep -v kube-root-ca | wc -l)" "0" \
    "recreated namespace starts empty"

for ns in default kube-system kube-public kube-node-lease; do
    out=$(kubectl delete namespace "$ns" --wait=false 2>&1)
    expect_match "$out" "namespaces \"$ns\" is forbidden: this namespace may not be deleted" \
        "built-in namespace $ns cannot be deleted"
done
expect_eq "$(kubectl get ns default -o jsonpath='{.status.phase}')" "Active" "default stays Active"
finish
