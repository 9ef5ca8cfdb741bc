#!/bin/bash
# t1078: watches are limited per client (peer address) and in all, answered 429 with
# Retry-After and a Status naming the limit; a watcher that stops reading is dropped once its
# unsent events pass the byte limit, with an ERROR event carrying a 410 Status (what
# client-go re-lists on), never silently; the server keeps serving throughout.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
HL="$PY $(dirname "$0")/t1079-hostile-lib.py"

kroll_start --max-watches 12 --max-watches-per-client 4 --watch-buffer-bytes 262144
cd "$TEST_DIR"
W=/api/v1/namespaces/default/configmaps?watch=1
N=0
# open_watch SRC: a curl watch from source address SRC; sets CODE to its HTTP status. (Not
# run in $(...), which would wait for the curl and lose its PID.)
open_watch() {
    N=$((N + 1))
    curl -sS -N --cacert "$KROLL_DATA/pki/ca.crt" --interface "$1" -H "Authorization: Bearer $KROLL_TOKEN" \
        -D "w$N.h" -o "w$N.b" "https://127.0.0.1:$KROLL_PORT$W" >/dev/null 2>&1 &
    KROLL_PIDS="$KROLL_PIDS $!"; WPIDS="$WPIDS $!"
    for _ in $(seq 1 100); do grep -q '^HTTP' "w$N.h" 2>/dev/null && break; sleep 0.1; done
    sleep 0.2
    CODE=$(sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p' "w$N.h")
}
WPIDS=""

codes=""
for i in 1 2 3 4 5; do open_watch 127.0.0.2; codes="$codes$CODE "; done
expect_eq "$codes" "200 200 200 200 429 " "per-client limit: the fifth watch from 127.0.0.2 gets 429"
expect_match "$(cat w5.b)" 'limit per client is 4.*"reason":"TooManyRequests".*"code":429' "429 is a Status naming the per-client limit"
grep -qi '^Retry-After: 1' w5.h && pass "429 carries Retry-After" || fail "429 without Retry-After: $(cat w5.h)"

total=""
for src in 127.0.0.3 127.0.0.4 127.0.0.5; do
    for i in 1 2 3 4; do
        open_watch $src
        [ "$CODE" = 429 ] && { total=$N; break 2; }
    done
done
[ -n "$total" ] && expect_match "$(cat "w$total.b")" 'too many watches: the server holds its limit of 12.*"code":429' \
    "total limit: a watch over 12 in all gets 429 naming --max-watches" || fail "no watch was refused for the total limit"
expect_eq "$(kubectl get ns default -o name)" "namespace/default" "kubectl still works with every watch slot taken"
kill $WPIDS 2>/dev/null
sleep 1
open_watch 127.0.0.6
expect_eq "$CODE" 200 "closed watches free their slots"

# The slow watcher: reads nothing while ~8 MB of events are written for it.
$HL slowwatch "$KROLL_PORT" "$KROLL_TOKEN" "$W&resourceVersion=0" "$TEST_DIR/go" >slow.out &
SLOW=$!; KROLL_PIDS="$KROLL_PIDS $SLOW"
sleep 1
$PY -c 'import json; print(json.dumps({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"NAME"},"data":{"a":"x"*200000}}))' >cm.json
for i in $(seq 1 40); do
    sed "s/NAME/big$i/" cm.json | api_curl /api/v1/namespaces/default/configmaps -X POST \
        -H 'Content-Type: application/json' --data-binary @- -o /dev/null -w '%{http_code}\n'
done | sort | uniq -c | grep -q ' 40 201' && pass "40 configmaps of 200 kB created" || fail "configmap creation"
touch go
for _ in $(seq 1 600); do kill -0 $SLOW 2>/dev/null || break; sleep 0.1; done
out=$(cat slow.out)
expect_match "$out" '"type":"ERROR","object":\{"kind":"Status".*"code":410' "the slow watcher's stream ends with an ERROR event carrying a 410 Status"
expect_match "$out" 'too slow.*262144' "the 410 message names the byte limit"
expect_match "$out" 'ended 1$' "the stream is ended properly (last chunk), not cut"
grep -q 'dropping slow watch' server.log && pass "the drop is logged" || fail "the drop is not logged"
expect_eq "$(kubectl get cm big40 -o name)" "configmap/big40" "server keeps serving"
finish
