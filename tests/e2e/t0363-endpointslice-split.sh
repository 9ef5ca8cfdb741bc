#!/bin/bash
# t0363: a Service with more than 100 endpoints gets several EndpointSlices of at most 100
# endpoints each (k8s-semantics 13: "<= 100 endpoints per slice"), every pod listed exactly once,
# and shrinks back to one slice when pods go. Pods are bound to a node no kubelet serves; their
# status is set through /status.
. "$(dirname "$0")/lib.sh"

kroll_start

kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: many}
spec:
  selector: {app: many}
  ports: [{port: 80, targetPort: 8080}]
Y
for i in $(seq 1 150); do
    printf -- '---\n{apiVersion: v1, kind: Pod, metadata: {name: m%d, labels: {app: many}}, spec: {nodeName: ghost, containers: [{name: c, image: example/m:1}]}}\n' "$i"
done | kubectl apply -f - >/dev/null
for i in $(seq 1 150); do
    api_curl "/api/v1/namespaces/default/pods/m$i/status" -o /dev/null -X PATCH \
        -H 'Content-Type: application/merge-patch+json' \
        -d "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.9.$((i / 100)).$((i % 100 + 1))\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}"
done

sizes() { # endpoint counts of the Service's slices, sorted
    kubectl get endpointslices -l kubernetes.io/service-name=many -o json |
        python3 -c 'import json,sys; print(" ".join(sorted(str(len(s.get("endpoints") or [])) for s in json.load(sys.stdin)["items"])))'
}
uniq_ips() {
    kubectl get endpointslices -l kubernetes.io/service-name=many \
        -o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}{"\n"}{end}' | sort -u | wc -l
}
wait_for 20 "150 endpoints split into slices of 100 and 50" -- sh_eval 'test "$(sizes)" = "100 50"'
expect_eq "$(uniq_ips)" "150" "every pod listed once across the slices"
expect_eq "$(kubectl get endpointslices -l kubernetes.io/service-name=many -o jsonpath='{.items[*].ports[0].port}')" \
    "8080 8080" "both slices carry the port"

kubectl delete pods $(seq -f 'm%g' 1 60) --grace-period=0 --force >/dev/null 2>&1
wait_for 20 "90 endpoints fit in one slice again" -- sh_eval 'test "$(sizes)" = "90"'
expect_eq "$(uniq_ips)" "90" "the remaining pods listed"
finish
