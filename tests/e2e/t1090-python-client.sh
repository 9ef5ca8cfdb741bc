#!/bin/bash
# t1090: clients other than kubectl. Debian's python3-kubernetes lists, watches (it sends
# watch=True), creates from YAML, patches, reads status, follows logs and deletes, as a user's
# script does; and query parameters are converted as kube-apiserver converts them: booleans
# as its ParseBool (True, 1, a bare key), integers with a 400 naming a bad one, and
# resourceVersionMatch / sendInitialEvents by its rules (422 ListOptions, the streaming
# list's end bookmark, 504 for a resourceVersion not reached yet, 410 for an Exact old one).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"
PY=/usr/bin/python3
$PY -c 'import kubernetes' 2>/dev/null ||
    { say "SKIP: python3-kubernetes missing (scripts/install-deps.sh --test)"; exit 0; }
unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }

kroll_start
mkimage test/ticker:1 'trap "exit 0" TERM; echo hello from py-app; i=0
while :; do i=$((i + 1)); echo tick $i; sleep 0.2; done'
cat >"$TEST_DIR/app.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: py-app}
spec:
  replicas: 2
  selector: {matchLabels: {app: py-app}}
  template:
    metadata: {labels: {app: py-app}}
    spec:
      terminationGracePeriodSeconds: 5
      containers: [{name: app, image: test/ticker:1, imagePullPolicy: Never}]
---
apiVersion: v1
kind: Service
metadata: {name: py-app}
spec: {selector: {app: py-app}, ports: [{port: 80, targetPort: 8080}]}
YAML
timeout 300 $PY "$KROLL_SRC/tests/e2e/t1090-python-client.py" "$KUBECONFIG" "$TEST_DIR" \
    >"$TEST_DIR/py.out" 2>&1
rc=$?
while IFS= read -r line; do
    case $line in
    "ok - "*) pass "python: ${line#ok - }" ;;
    "FAIL - "*) fail "python: ${line#FAIL - }" ;;
    *) say "python: $line" ;;
    esac
done <"$TEST_DIR/py.out"
expect_eq "$rc" 0 "the Python script ran to its end"

CM=/api/v1/namespaces/default/configmaps
kubectl create configmap q1 --from-literal=a=1 >/dev/null
for w in True 1 t ""; do
    out=$(api_curl "$CM?watch=$w&timeoutSeconds=1" -m 10)
    expect_match "$out" '"type":"ADDED"' "watch=$w watches"
done
expect_match "$(api_curl "$CM?watch&timeoutSeconds=1" -m 10)" '"type":"ADDED"' "a bare watch key watches"
for w in false False 0; do
    expect_match "$(api_curl "$CM?watch=$w" -m 10)" '"kind":"ConfigMapList"' "watch=$w lists"
done
out=$(api_curl "$CM?watch=1&timeoutSeconds=abc" -w ' %{http_code}')
expect_match "$out" 'strconv.ParseInt: parsing \\"abc\\": invalid syntax.* 400$' "timeoutSeconds=abc: 400 as upstream"
out=$(api_curl "$CM?watch=1&timeoutSeconds=99999999999999999999" -w ' %{http_code}')
expect_match "$out" 'value out of range.* 400$' "an int64 overflow: 400"
out=$(api_curl "$CM/q1?gracePeriodSeconds=x" -X DELETE -w ' %{http_code}')
expect_match "$out" 'parsing \\"x\\": invalid syntax.* 400$' "gracePeriodSeconds=x: 400"
expect_match "$(kubectl get cm q1 -o name)" "configmap/q1" "and nothing was deleted"

out=$(api_curl "$CM?resourceVersionMatch=NotOlderThan" -w ' %{http_code}')
expect_match "$out" 'ListOptions.meta.k8s.io \\"\\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided.* 422$' \
    "resourceVersionMatch without resourceVersion: 422"
expect_match "$out" '"field":"resourceVersionMatch"' "with the field as its cause"
out=$(api_curl "$CM?resourceVersion=1&resourceVersionMatch=Newest" -w ' %{http_code}')
expect_match "$out" 'Unsupported value: \\"Newest\\": supported values: \\"Exact\\", \\"NotOlderThan\\", \\"\\".* 422$' \
    "an unknown resourceVersionMatch: 422 naming the values"
out=$(api_curl "$CM?sendInitialEvents=true" -w ' %{http_code}')
expect_match "$out" 'sendInitialEvents is forbidden for list.* 422$' "sendInitialEvents on a list: 422"
out=$(api_curl "$CM?watch=1&sendInitialEvents=true" -w ' %{http_code}')
expect_match "$out" 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan.* 422$' \
    "sendInitialEvents without NotOlderThan: 422"
out=$(api_curl "$CM?watch=1&resourceVersionMatch=NotOlderThan&resourceVersion=1" -w ' %{http_code}')
expect_match "$out" 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided.* 422$' \
    "resourceVersionMatch on a watch without sendInitialEvents: 422"

# Exact is served at the current revision only; any write in the cluster (a controller's status,
# an Event) between the two requests moves it, so take a few tries on a loaded machine.
for try in 1 2 3 4 5; do
    now=$(api_curl "$CM" | jq -r .metadata.resourceVersion)
    out=$(api_curl "$CM?resourceVersion=$now&resourceVersionMatch=Exact" -w ' %{http_code}')
    case $out in *' 200') break ;; esac
done
expect_match "$out" '"kind":"ConfigMapList".* 200$' "Exact at the current revision lists"
kubectl create configmap q2 --from-literal=a=1 >/dev/null
expect_match "$(api_curl "$CM?resourceVersion=$now&resourceVersionMatch=Exact" -w ' %{http_code}')" \
    'The resourceVersion for the provided list is too old.*"code":410.* 410$' "Exact at an older revision: 410"
expect_match "$(api_curl "$CM?resourceVersion=$now&resourceVersionMatch=NotOlderThan" | jq -r '.items | length')" \
    '^3$' "NotOlderThan an older revision lists the current state (kube-root-ca.crt, q1, q2)"
out=$(api_curl "$CM?resourceVersion=999999999" -w ' %{http_code}')
expect_match "$out" 'Timeout: Too large resource version: 999999999, current: [0-9]+.*ResourceVersionTooLarge.* 504$' \
    "a revision not reached yet: 504 with ResourceVersionTooLarge"

# The streaming list (WatchList): every object as ADDED, then a bookmark marking their end.
out=$(api_curl "$CM?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1" -m 10)
expect_eq "$(jq -r '.type + " " + (.object.metadata.name // "")' <<<"$out" | head -4 | tr '\n' ' ')" \
    "ADDED kube-root-ca.crt ADDED q1 ADDED q2 BOOKMARK  " "initial events, then a bookmark"
expect_eq "$(jq -r 'select(.type == "BOOKMARK") | .object.metadata.annotations["k8s.io/initial-events-end"]' <<<"$out" | head -1)" \
    "true" "the bookmark carries k8s.io/initial-events-end"
out=$(api_curl "$CM?watch=1&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&timeoutSeconds=1" -m 10)
expect_eq "$out" "" "sendInitialEvents=false without a revision: changes from now on only"
finish
