#!/bin/bash
# t0320: the garbage collector. Objects whose owners (by uid) are gone are deleted; an owner
# with the same name but another uid counts as gone; a dependent with one live owner left only
# loses the dangling reference; foreground deletion keeps the owner until blocking dependents
# are gone; orphan deletion strips the ownerReferences and keeps the dependents; a Deployment
# deleted with the default or foreground cascade takes its ReplicaSets and pods with it.
. "$(dirname "$0")/lib.sh"

kroll_start

uid_of() { kubectl get "$1" -o jsonpath='{.metadata.uid}'; }
gone() { ! kubectl get "$1" >/dev/null 2>&1; }
# mkdep NAME OWNERS-JSON [FINALIZERS-JSON]: a ConfigMap with the given ownerReferences.
mkdep() {
    kubectl apply -f - >/dev/null <<JSON
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"$1","ownerReferences":$2,"finalizers":${3:-[]}},"data":{"k":"v"}}
JSON
}
ref() { # ref NAME UID [BLOCK]
    echo "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"$1\",\"uid\":\"$2\",\"blockOwnerDeletion\":${3:-false}}"
}

# Background: the dependent goes after its owner.
kubectl create configmap owner1 >/dev/null
mkdep dep1 "[$(ref owner1 "$(uid_of cm/owner1)")]"
sleep 0.3
expect_rc 0 "dependent with a live owner stays" -- kubectl get cm dep1
kubectl delete cm owner1 >/dev/null
wait_for 5 "dependent deleted after its owner" -- gone cm/dep1

# Same name, other uid: that owner is absent.
kubectl create configmap owner2 >/dev/null
mkdep dep2 "[$(ref owner2 00000000-0000-4000-8000-000000000000)]"
wait_for 5 "owner with the same name but another uid counts as gone" -- gone cm/dep2
expect_rc 0 "the same-name object itself is untouched" -- kubectl get cm owner2

# Two owners, one gone: only the dangling reference is removed.
kubectl create configmap owner3 >/dev/null
mkdep dep3 "[$(ref owner3 "$(uid_of cm/owner3)"), $(ref ghost 11111111-1111-4111-8111-111111111111)]"
wait_for 5 "dangling reference removed" -- \
    test "$(kubectl get cm dep3 -o jsonpath='{.metadata.ownerReferences[*].name}')" = "owner3"

# Foreground: the owner waits for a blocking dependent (held here by its own finalizer).
kubectl create configmap owner4 >/dev/null
mkdep dep4 "[$(ref owner4 "$(uid_of cm/owner4)" true)]" '["example.com/hold"]'
kubectl delete cm owner4 --cascade=foreground --wait=false >/dev/null
wait_for 5 "blocking dependent is being deleted" -- \
    test -n "$(kubectl get cm dep4 -o jsonpath='{.metadata.deletionTimestamp}')"
sleep 0.5
expect_eq "$(kubectl get cm owner4 -o jsonpath='{.metadata.finalizers}')" '["foregroundDeletion"]' \
    "owner kept with foregroundDeletion while the dependent exists"
kubectl patch cm dep4 --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
wait_for 5 "dependent gone once its finalizer is removed" -- gone cm/dep4
wait_for 5 "owner removed after its blocking dependents" -- gone cm/owner4

# Orphan: dependents stay, without the reference.
kubectl create configmap owner5 >/dev/null
mkdep dep5 "[$(ref owner5 "$(uid_of cm/owner5)" true)]"
kubectl delete cm owner5 --cascade=orphan >/dev/null
wait_for 5 "orphaning owner removed" -- gone cm/owner5
sleep 0.3
expect_rc 0 "orphaned dependent kept" -- kubectl get cm dep5
expect_eq "$(kubectl get cm dep5 -o jsonpath='{.metadata.ownerReferences}')" "" \
    "orphaned dependent has no ownerReferences"

# Deployments: background and foreground cascades take ReplicaSets and pods.
kubectl create deployment bg --image=example/web:1 --replicas=2 >/dev/null
wait_for 10 "deployment bg has 2 pods" -- sh_eval 'test "$(kubectl get pods -l app=bg -o name | wc -l)" = 2'
kubectl delete deployment bg >/dev/null
wait_for 10 "ReplicaSets of bg collected" -- sh_eval 'test -z "$(kubectl get rs -l app=bg -o name)"'
wait_for 10 "pods of bg collected" -- sh_eval 'test -z "$(kubectl get pods -l app=bg -o name)"'

kubectl create deployment fg --image=example/web:1 --replicas=2 >/dev/null
wait_for 10 "deployment fg has 2 pods" -- sh_eval 'test "$(kubectl get pods -l app=fg -o name | wc -l)" = 2'
expect_rc 0 "foreground delete of a Deployment completes" -- \
    kubectl delete deployment fg --cascade=foreground --timeout=20s
expect_eq "$(kubectl get rs,pods -l app=fg -o name)" "" "nothing of fg is left"
finish
