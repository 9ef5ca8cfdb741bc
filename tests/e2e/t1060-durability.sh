#!/bin/bash
# t1060: durability. Every write the API acknowledged survives kill -9 (same uid, same
# resourceVersion, same content), resourceVersions never go back or repeat after a restart,
# deletes stay deleted, and a watch from before the crash gets 410 Expired (clients re-list).
. "$(dirname "$0")/lib.sh"

kroll_start
cd "$TEST_DIR"
CM=/api/v1/namespaces/default/configmaps
kubectl create deployment web --image=example/web:1 >/dev/null
kubectl create cm gone >/dev/null
kubectl delete cm gone >/dev/null
# Writers hammer the API; the server is killed in the middle.
for w in 1 2 3 4; do
    ( for i in $(seq 1 400); do
          api_curl $CM -X POST -H 'Content-Type: application/json' \
              -d "{\"metadata\":{\"name\":\"w$w-$i\"},\"data\":{\"i\":\"$i\"}}" 2>/dev/null \
              | jq -c 'select(.kind=="ConfigMap") | [.metadata.name, .metadata.uid, .metadata.resourceVersion]' 2>/dev/null
      done >"acked.$w" ) &
    KROLL_PIDS="$KROLL_PIDS $!"
done
sleep 4
kill -KILL "$KROLL_SERVER_PID"; wait "$KROLL_SERVER_PID" 2>/dev/null
sleep 1
cat acked.* >acked
n=$(wc -l <acked)
[ "$n" -gt 0 ] && pass "$n writes acknowledged before the kill" || fail "only $n writes acknowledged"
maxrv=$(jq -r '.[2]' acked | sort -n | tail -1)
mv server.log server.log.1 # kroll_start waits for a new "ready" line
kroll_start
list=$(api_curl $CM)
missing=0; changed=0
while read -r row; do
    name=$(jq -r '.[0]' <<<"$row")
    got=$(jq -c --arg n "$name" '.items[] | select(.metadata.name==$n) | [.metadata.name, .metadata.uid, .metadata.resourceVersion]' <<<"$list")
    [ -n "$got" ] || { missing=$((missing + 1)); continue; }
    [ "$got" = "$row" ] || changed=$((changed + 1))
done <acked
expect_eq "$missing" "0" "every acknowledged create survived kill -9"
expect_eq "$changed" "0" "uid and resourceVersion unchanged after kill -9"
rv=$(jq -r .metadata.resourceVersion <<<"$list")
[ "$rv" -ge "$maxrv" ] && pass "list resourceVersion $rv >= last acknowledged $maxrv" || fail "resourceVersion went back: $rv < $maxrv"
out=$(api_curl $CM -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"after"}}')
[ "$(jq -r .metadata.resourceVersion <<<"$out")" -gt "$rv" ] && pass "new writes get a larger resourceVersion" || fail "resourceVersion reused"
expect_match "$(kubectl get cm gone 2>&1)" 'not found' "deleted object stays deleted"
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')" "example/web:1" "deployment survived"
ev=$(api_curl "$CM?watch=true&resourceVersion=$((maxrv - 1))" -N --max-time 4)
expect_eq "$(jq -r '"\(.type) \(.object.code) \(.object.reason)"' <<<"$ev" | head -1)" "ERROR 410 Expired" "watch from before the crash: 410"
# kubectl get -w across the restart: list + watch from the new state works.
expect_eq "$(timeout 3 kubectl get cm after -w -o name 2>/dev/null | head -1)" "configmap/after" "get -w after restart"
finish
