#!/bin/bash
# t0362: EndpointSlices of a Service over real pods run by the kubelet (item 51): only pods that
# match the selector and have an IP are listed (a Pending pod without an IP and a non-matching
# Running pod are not), a pod whose readiness probe fails is listed with ready=false and
# serving=false, and publishNotReadyAddresses makes it ready=true. (t0310 covers the same rules
# with hand-set pod status, plus terminating pods, named ports and selector switches.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start

kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-unready, labels: {app: web}}
spec:
  containers:
  - name: app
    image: test/app:bad
    readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-pending, labels: {app: web}}
spec:
  containers: [{name: app, image: test/app:1, resources: {requests: {cpu: "1000"}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: other, labels: {app: other}}
spec:
  containers: [{name: app, image: test/app:1}]
Y
dep_apply web 2 test/app:1
wait_for 40 "Deployment web available" -- dep_complete web 2
running() { [ "$(kubectl get pod "$1" -o jsonpath='{.status.phase}')" = Running ]; }
wait_for 20 "unready pod Running" -- running web-unready
wait_for 20 "non-matching pod Running" -- running other

# ip_of POD / endpoint lines "IP ready serving terminating name", sorted by IP.
ip_of() { kubectl get pod "$1" -o jsonpath='{.status.podIP}'; }
slice_eps() {
    kubectl get endpointslices -l kubernetes.io/service-name=web -o json | python3 -c '
import json, sys
rows = []
for s in json.load(sys.stdin)["items"]:
    for e in s.get("endpoints") or []:
        c = e.get("conditions", {})
        rows.append("%s %s %s %s %s" % (e["addresses"][0], str(c.get("ready")).lower(),
                    str(c.get("serving")).lower(), str(c.get("terminating")).lower(),
                    e.get("targetRef", {}).get("name")))
print("\n".join(sorted(rows)))'
}
want_eps() { # READY-OF-UNREADY: the expected slice rows
    {
        for p in $(kubectl get pods -l app=web,pod-template-hash -o jsonpath='{.items[*].metadata.name}'); do
            echo "$(ip_of "$p") true true false $p"
        done
        echo "$(ip_of web-unready) $1 false false web-unready"
    } | sort
}
expect_eq "$(kubectl get pod web-pending -o jsonpath='{.status.phase}/{.status.podIP}')" "Pending/" \
    "matching Pending pod has no IP"
expect_match "$(ip_of other)" '^[0-9.]+$' "non-matching pod has an IP"
expect_match "$(ip_of web-unready)" '^[0-9.]+$' "unready pod has an IP"
slice_ok() { [ "$(slice_eps)" = "$(want_eps false)" ]; }
wait_for 10 "item 51: slice lists the 2 ready pods and the unready one (ready=false, serving=false)" -- slice_ok
slice_ok || say "slice: $(slice_eps | tr '\n' ';') want: $(want_eps false | tr '\n' ';')"
expect_eq "$(slice_eps | grep -c -e "^$(ip_of other) " -e ' web-pending$' -e ' other$')" "0" \
    "item 51: neither the non-matching pod nor the IP-less Pending pod is listed"
expect_eq "$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[*].ports[0].port}/{.items[*].addressType}')" \
    "8080/IPv4" "slice port and addressType"
expect_eq "$(kubectl get endpoints web -o jsonpath='{.subsets[*].notReadyAddresses[*].ip}')" "$(ip_of web-unready)" \
    "Endpoints: unready pod under notReadyAddresses"

kubectl patch svc web --type=merge -p '{"spec":{"publishNotReadyAddresses":true}}' >/dev/null
slice_pub() { [ "$(slice_eps)" = "$(want_eps true)" ]; }
wait_for 10 "item 51: publishNotReadyAddresses makes the unready pod ready=true (serving stays false)" -- slice_pub
expect_eq "$(kubectl get endpoints web -o jsonpath='{.subsets[*].notReadyAddresses[*].ip}')" "" \
    "Endpoints: no notReadyAddresses with publishNotReadyAddresses"
kubectl patch svc web --type=merge -p '{"spec":{"publishNotReadyAddresses":false}}' >/dev/null
wait_for 10 "turning it off restores ready=false" -- slice_ok

# A pod that stops matching leaves; the Pending pod, once it fits and has an IP, joins.
kubectl label pod web-unready app=gone --overwrite >/dev/null
gone() { ! slice_eps | grep -q ' web-unready$'; }
wait_for 10 "relabelled pod leaves the slice" -- gone
kubectl delete pod web-pending >/dev/null
expect_eq "$(slice_eps | wc -l)" "2" "two endpoints left"
finish
