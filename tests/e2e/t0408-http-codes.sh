#!/usr/bin/env bash
# Checklist 39: HTTP status 399 is probe success, 400 is failure; a probe whose answer takes
# longer than timeoutSeconds fails with Go's client timeout text.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
node_skip_checks
kroll_start
write_status_server
for p in 8001 8002 8003; do mksrvimage test/srv$p $p; done
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: codes}
spec:
  containers:
  - {name: c399, image: test/srv8001, readinessProbe: {httpGet: {path: /399, port: 8001}, periodSeconds: 1}}
  - {name: c400, image: test/srv8002, readinessProbe: {httpGet: {path: /400, port: 8002}, periodSeconds: 1}}
  - {name: slow, image: test/srv8003, readinessProbe: {httpGet: {path: /slow, port: 8003}, periodSeconds: 2, timeoutSeconds: 1}}
Y
ready_of() { jp codes "{.status.containerStatuses[?(@.name==\"$1\")].ready}"; }
r399() { [ "$(ready_of c399)" = true ]; }
wait_for 20 "399 is success: c399 ready" -- r399
IP=$(jp codes '{.status.podIP}')
ev400() { events_of codes | grep -qx 'Unhealthy|Readiness probe failed: HTTP probe failed with statuscode: 400'; }
wait_for 10 "400 is failure (Unhealthy with the code)" -- ev400
evslow() { events_of codes | grep -qx "Unhealthy|Readiness probe failed: Get \"http://$IP:8003/slow\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"; }
wait_for 10 "a slow answer times out after timeoutSeconds" -- evslow
sleep 2
expect_eq "$(ready_of c400)" false "c400 not ready"
expect_eq "$(ready_of slow)" false "slow not ready"
expect_eq "$(jp codes '{.status.containerStatuses[*].restartCount}')" "0 0 0" "readiness never restarts"
expect_match "$(kubectl get pod codes --no-headers)" '^codes +1/3 +Running' "READY 1/3"
finish
