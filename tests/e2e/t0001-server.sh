#!/bin/bash
# t0001: the server starts, writes a 0600 kubeconfig, serves kubectl over TLS with a bearer
# token (401 without it), survives kill -9 with its data, and stops cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"

kroll_start
expect_eq "$(stat -c %a "$KUBECONFIG")" "600" "kubeconfig is mode 0600"
expect_match "$(kubectl version -o json 2>&1)" '"gitVersion": "v1.32' "kubectl version reaches the server"
out=$(kubectl get ns -o name)
for ns in default kube-system kube-public kube-node-lease; do
    expect_match "$out" "namespace/$ns" "namespace $ns exists"
done
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$KROLL_DATA/pki/ca.crt" "https://127.0.0.1:$KROLL_PORT/api/v1/namespaces")
expect_eq "$code" "401" "no token: 401"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$KROLL_DATA/pki/ca.crt" -H "Authorization: Bearer wrong" "https://127.0.0.1:$KROLL_PORT/api/v1/namespaces")
expect_eq "$code" "401" "wrong token: 401"
expect_eq "$(api_curl /healthz)" "ok" "healthz"

kubectl create configmap survives --from-literal=k=v >/dev/null
kill -KILL "$KROLL_SERVER_PID"; wait "$KROLL_SERVER_PID" 2>/dev/null
kroll_start
expect_eq "$(kubectl get cm survives -o jsonpath='{.data.k}')" "v" "configmap survives kill -9"

"$KROLL_BIN" stop --data-dir "$KROLL_DATA" >/dev/null
expect_rc 1 "server is gone after kroll stop" -- kill -0 "$KROLL_SERVER_PID"
expect_match "$(cat "$TEST_DIR/server.log")" 'msg="stopped"' "clean stop logged"
finish
