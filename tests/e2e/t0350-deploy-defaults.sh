#!/bin/bash
# t0350: Deployment defaults and validation as the API returns them (checklist items 1-6), RS and
# pod naming (13), and that re-applying an unchanged manifest does nothing (14).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start

# 1: defaults of an apps/v1 Deployment.
kubectl apply -f - >/dev/null <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bare}
spec:
  selector: {matchLabels: {app: bare}}
  template:
    metadata: {labels: {app: bare}}
    spec:
      containers:
      - {name: a, image: test/app:1}
      - {name: b, image: test/app}
      - {name: c, image: "test/app:latest"}
      - {name: d, image: "test/app@sha256:0000000000000000000000000000000000000000000000000000000000000000"}
      - name: e
        image: test/app:1
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
Y
expect_eq "$(dep_field bare .spec.replicas)" "1" "item 1: replicas defaults to 1"
expect_eq "$(dep_field bare .spec.strategy.type)" "RollingUpdate" "item 1: strategy RollingUpdate"
expect_eq "$(dep_field bare .spec.strategy.rollingUpdate.maxSurge)/$(dep_field bare .spec.strategy.rollingUpdate.maxUnavailable)" \
    "25%/25%" "item 1: maxSurge/maxUnavailable 25%"
expect_eq "$(dep_field bare .spec.revisionHistoryLimit)" "10" "item 1: revisionHistoryLimit 10"
expect_eq "$(dep_field bare .spec.progressDeadlineSeconds)" "600" "item 1: progressDeadlineSeconds 600"
# 2: imagePullPolicy by tag.
expect_eq "$(dep_field bare '.spec.template.spec.containers[*].imagePullPolicy')" \
    "IfNotPresent Always Always IfNotPresent IfNotPresent" "item 2: imagePullPolicy defaults by tag/digest"
# 3: probe and pod defaults.
expect_eq "$(dep_field bare '.spec.template.spec.containers[4].readinessProbe.timeoutSeconds')/$(dep_field bare '.spec.template.spec.containers[4].readinessProbe.periodSeconds')/$(dep_field bare '.spec.template.spec.containers[4].readinessProbe.successThreshold')/$(dep_field bare '.spec.template.spec.containers[4].readinessProbe.failureThreshold')" \
    "1/10/1/3" "item 3: probe defaults 1/10/1/3"
expect_eq "$(dep_field bare .spec.template.spec.terminationGracePeriodSeconds)/$(dep_field bare .spec.template.spec.restartPolicy)" \
    "30/Always" "item 3: terminationGracePeriodSeconds 30, restartPolicy Always"
kubectl delete deploy bare >/dev/null

# 4: strategy validation.
bad() { # extra strategy yaml
    dep_manifest v 1 test/app:1 "  strategy: {type: RollingUpdate, rollingUpdate: {$1}}" |
        kubectl apply -f - 2>&1
}
out=$(bad "maxSurge: 0, maxUnavailable: 0")
expect_match "$out" 'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0' \
    "item 4: maxSurge 0 + maxUnavailable 0 rejected"
out=$(bad "maxUnavailable: 101%")
expect_match "$out" 'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: .*101%.*: must not be greater than 100%' \
    "item 4: maxUnavailable 101% rejected"
out=$(bad 'maxSurge: "25"')
expect_match "$out" 'spec.strategy.rollingUpdate.maxSurge: Invalid value: .*25.*: a valid percent string must be a numeric string followed by an ending' \
    "item 4: maxSurge \"25\" rejected"
expect_eq "$(kubectl get deploy -o name)" "" "item 4: nothing created by invalid manifests"

# 13: naming.
dep_manifest web 2 test/app:1 >"$TEST_DIR/web.yaml"
kubectl apply -f "$TEST_DIR/web.yaml" >/dev/null
wait_for 30 "web complete" -- dep_complete web 2
rs=$(rs_names web)
hash=${rs#web-}
expect_match "$rs" '^web-[4-9bcdf]{1,10}$' "item 13: RS named <deployment>-<hash>, hash chars [4-9bcdf]"
expect_eq "$(rs_field "$rs" '.metadata.labels.pod-template-hash')" "$hash" "item 13: RS label pod-template-hash"
expect_eq "$(rs_field "$rs" '.spec.selector.matchLabels.pod-template-hash')" "$hash" "item 13: RS selector pod-template-hash"
expect_eq "$(rs_field "$rs" '.spec.template.metadata.labels.pod-template-hash')" "$hash" "item 13: template label"
expect_eq "$(rs_field "$rs" '.metadata.ownerReferences[0].kind')/$(rs_field "$rs" '.metadata.ownerReferences[0].controller')/$(rs_field "$rs" '.metadata.ownerReferences[0].blockOwnerDeletion')" \
    "Deployment/true/true" "item 13: RS controlled by the Deployment"
pods=$(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.name}')
expect_match "$pods" "^$rs-[bcdfghjklmnpqrstvwxz2456789]{5} $rs-[bcdfghjklmnpqrstvwxz2456789]{5}\$" \
    "item 13: pods named <rs>-<5 chars>"
expect_eq "$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.ownerReferences[0].name}')" "$rs" \
    "item 13: pod owned by the RS"

# 14: re-applying the same manifest changes nothing.
gen=$(dep_field web .metadata.generation)
nev=$(events_for web | wc -l)
out=$(kubectl apply -f "$TEST_DIR/web.yaml")
expect_eq "$out" "deployment.apps/web unchanged" "item 14: kubectl apply reports unchanged"
sleep 1
expect_eq "$(rs_names web)" "$rs" "item 14: no new RS"
expect_eq "$(dep_field web .metadata.generation)" "$gen" "item 14: generation unchanged"
expect_eq "$(events_for web | wc -l)" "$nev" "item 14: no new events"

# 6: an annotation change creates no RS (it is copied onto the current RS) and is observed.
kubectl annotate deploy web team=ml >/dev/null
expect_eq "$(dep_field web .metadata.generation)" "$((gen + 1))" "item 6: annotation change bumps generation"
sleep 1
expect_eq "$(rs_names web)" "$rs" "item 6: annotation change creates no RS"
expect_eq "$(dep_field web .status.observedGeneration)" "$(dep_field web .metadata.generation)" \
    "item 6: observedGeneration follows generation"
expect_eq "$(rs_field "$rs" '.metadata.annotations.team')" "ml" "item 6: annotation copied to the new RS"

# 5: selector is immutable.
out=$(kubectl patch deploy web --type=merge -p '{"spec":{"selector":{"matchLabels":{"app":"web","x":"y"}},"template":{"metadata":{"labels":{"app":"web","x":"y"}}}}}' 2>&1)
expect_match "$out" 'spec.selector: Invalid value: .*field is immutable' "item 5: selector change rejected"
finish
