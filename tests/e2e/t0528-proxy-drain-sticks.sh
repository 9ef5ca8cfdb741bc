#!/usr/bin/env bash
# A pod drained at the proxy stays out of rotation when the EndpointSlice lags behind (here a
# user-managed slice that still lists the pod as ready after it is gone, as the endpoints
# controller's slices do for a moment after a server restart). Before, once the pod's shim and
# object were gone the proxy saw a "new" endpoint (no network namespace, no revision), made it
# fresh and undrained, and sent requests into the host namespace: 502s in the crash test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
svc_setup

for p in a b; do
    kubectl apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: $p, labels: {app: manual}}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: server
    image: myrepo/tf-serving:1.0.3
    args: ["--port=0", "--rest_api_port=8501", "--model_name=classifier", "--model_base_path=/models/classifier"]
    readinessProbe:
      httpGet: {path: /v1/models/classifier, port: 8501}
      periodSeconds: 1
Y
done
wait_for 60 "pods a and b ready" -- kubectl wait --for=condition=Ready pod/a pod/b --timeout=2s
ep() { # NAME: one endpoint of the slice, listed as ready
    local ip uid
    ip=$(kubectl get pod "$1" -o jsonpath='{.status.podIP}')
    uid=$(kubectl get pod "$1" -o jsonpath='{.metadata.uid}')
    printf -- '- addresses: ["%s"]\n  conditions: {ready: true, serving: true, terminating: false}\n' "$ip"
    printf '  targetRef: {kind: Pod, namespace: default, name: %s, uid: "%s"}\n' "$1" "$uid"
}
kubectl apply -f - >/dev/null <<Y
apiVersion: v1
kind: Service
metadata: {name: manual}
spec:
  ports: [{port: 80, targetPort: 8501}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: manual-1, labels: {kubernetes.io/service-name: manual}}
addressType: IPv4
ports: [{name: "", port: 8501, protocol: TCP}]
endpoints:
$(ep a)
$(ep b)
Y
ready_of() { metrics | sed -n "s/^kroll_proxy_endpoint_ready{service=\"default\/manual:80\",.*pod=\"default\/$1\".*} //p"; }
errs_of() { metrics | sed -n "s/^kroll_proxy_upstream_connect_errors_total{service=\"default\/manual:80\",.*pod=\"default\/$1\".*} //p"; }
wait_for 20 "the proxy routes to a and b" -- sh_eval 'test "$(ready_of a)$(ready_of b)" = 11'
IP=$(svc_ip manual)

# The pod drain controller marks the terminating pod; the kubelet stops it only after that.
kubectl get pod a --watch -o jsonpath='{.metadata.annotations.kroll\.dev/drained}{"\n"}' \
    >"$TEST_DIR/marks.a" 2>/dev/null &
WATCH_PID=$!
KROLL_PIDS="$KROLL_PIDS $WATCH_PID"
sleep 1
kubectl delete pod a --wait=true --timeout=60s >/dev/null
kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null
expect_match "$(grep 'msg="drained" pod=default/a ' "$TEST_DIR/server.log")" '"ok":true' "a was drained at the proxy before it stopped"
expect_match "$(grep -v '^$' "$TEST_DIR/marks.a" | head -n 1)" '"ok":true' "the terminating pod was marked kroll.dev/drained with the proxy's answer"
drained_line=$(grep -n 'msg="drained" pod=default/a ' "$TEST_DIR/server.log" | head -n 1 | cut -d: -f1)
exited_line=$(grep -n 'msg="container exited" pod=default/a ' "$TEST_DIR/server.log" | head -n 1 | cut -d: -f1)
expect_eq "$([ -n "$drained_line" ] && [ -n "$exited_line" ] && [ "$drained_line" -lt "$exited_line" ] && echo yes)" \
    yes "the container was stopped after the drain"
sleep 3 # the proxy re-reads its maps every second: long enough to see the object gone
for _ in $(seq 1 40); do curl -s -m 3 -o /dev/null "http://$IP/v1/models/classifier"; done
# Gone from the proxy's table (the pod object is gone, so no namespace to reach it in), or
# kept drained: either way not in rotation (an empty series reads as 0).
ra=$(ready_of a); ea=$(errs_of a)
expect_eq "${ra:-0}" 0 "the stale slice does not bring the drained pod back into rotation"
expect_eq "${ea:-0}" 0 "no request was sent to the gone pod"
expect_eq "$(ready_of b)" 1 "b still serves"

# The proxy learns where a pod's network namespace is from the pod (the kubelet publishes it),
# not from the kubelet's files; the kubelet puts back a value someone else wrote.
netns_of() { kubectl get pod b -o jsonpath='{.metadata.annotations.kroll\.dev/netns}'; }
expect_match "$(netns_of)" '^/proc/[0-9]+/ns/net$' "the kubelet published b's network namespace on the pod"
want=$(netns_of)
kubectl annotate pod b --overwrite kroll.dev/netns=/proc/1/ns/net >/dev/null
wait_for 20 "the kubelet restores b's namespace annotation" -- sh_eval "test \"\$(netns_of)\" = $want"
for _ in $(seq 1 20); do curl -s -m 3 -o /dev/null -w '%{http_code}\n' "http://$IP/v1/models/classifier"; done >"$TEST_DIR/codes"
expect_eq "$(sort -u "$TEST_DIR/codes")" 200 "b serves every request after the annotation was put back"
finish
