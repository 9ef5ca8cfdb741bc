#!/bin/bash
# t2000: watch streams. kubectl get -w prints each change once (no replayed duplicates);
# a watch resumes after a resourceVersion; selector transitions arrive as ADDED/DELETED;
# field selectors; Table watch events; bookmarks; timeoutSeconds ends the stream; an expired
# resourceVersion (the ring rolled over, or the server restarted) gets a 410 Expired ERROR event.
. "$(dirname "$0")/lib.sh"

export KROLL_WATCH_CACHE=50 KROLL_WATCH_BOOKMARK_MS=500
kroll_start
CM=/api/v1/namespaces/default/configmaps
# watch PATH-and-query: runs a bounded watch, prints "TYPE name" per event.
watch_events() { api_curl "$1" -N --max-time "${2:-4}" | jq -r '"\(.type) \(.object.metadata.name // .object.reason)"'; }

kubectl create cm w0 --from-literal=a=0 >/dev/null
kubectl get cm -w >"$TEST_DIR/w.out" 2>&1 &
KROLL_PIDS="$KROLL_PIDS $!"
wait_for 5 "kubectl get -w printed the list" -- grep -q '^w0 ' "$TEST_DIR/w.out"
kubectl create cm w1 --from-literal=a=1 >/dev/null
kubectl patch cm w1 --type=merge -p '{"data":{"a":"2"}}' >/dev/null
kubectl delete cm w1 >/dev/null
wait_for 5 "get -w printed three w1 rows (add, modify, delete)" -- sh_eval 'test "$(grep -c '\''^w1 '\'' "$TEST_DIR/w.out")" = 3'
sleep 0.5
expect_eq "$(grep -c '^w0 ' "$TEST_DIR/w.out")" "1" "get -w did not print w0 twice"
expect_eq "$(grep -c '^NAME ' "$TEST_DIR/w.out")" "1" "one header"

# resume from a resourceVersion: only later events
rv=$(api_curl $CM | jq -r .metadata.resourceVersion)
kubectl create cm w2 --from-literal=a=1 >/dev/null
kubectl label cm w2 x=y >/dev/null
expect_eq "$(watch_events "$CM?watch=true&resourceVersion=$rv&timeoutSeconds=1" | tr '\n' ',')" "ADDED w2,MODIFIED w2," \
    "watch from a resourceVersion replays exactly the later events"
# (kube-root-ca.crt is in every namespace, as on a cluster.)
expect_eq "$(watch_events "$CM?watch=true&timeoutSeconds=1" | tr '\n' ',')" "ADDED kube-root-ca.crt,ADDED w0,ADDED w2," \
    "watch without resourceVersion starts with the current state"
start=$(date +%s)
api_curl "$CM?watch=true&resourceVersion=$rv&timeoutSeconds=1" -N --max-time 10 >/dev/null
[ $(( $(date +%s) - start )) -le 3 ] && pass "timeoutSeconds closes the stream" || fail "timeoutSeconds did not close the stream"

# selector transitions and field selectors
rv=$(api_curl $CM | jq -r .metadata.resourceVersion)
kubectl create cm s1 >/dev/null
kubectl label cm s1 app=a >/dev/null
kubectl label cm s1 app=b --overwrite >/dev/null
kubectl delete cm s1 >/dev/null
expect_eq "$(watch_events "$CM?watch=true&resourceVersion=$rv&timeoutSeconds=1&labelSelector=app%3Da" | tr '\n' ',')" "ADDED s1,DELETED s1," \
    "object entering and leaving a label selector: ADDED then DELETED"
expect_eq "$(watch_events "$CM?watch=true&resourceVersion=$rv&timeoutSeconds=1&labelSelector=app%20in%20(a,b)" | tr '\n' ',')" \
    "ADDED s1,MODIFIED s1,DELETED s1," "set-based selector watch"
expect_eq "$(watch_events "$CM?watch=true&resourceVersion=$rv&timeoutSeconds=1&fieldSelector=metadata.name%3Ds1" | wc -l)" "4" \
    "field selector metadata.name watch sees all four events"
expect_eq "$(watch_events "$CM?watch=true&resourceVersion=$rv&timeoutSeconds=1&fieldSelector=metadata.name%3Dother" | wc -l)" "0" \
    "field selector excludes other objects"

# Table watch events carry one row and the column definitions
ev=$(api_curl "$CM?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dw0" -N --max-time 4 \
    -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json')
expect_eq "$(jq -r '"\(.object.kind) \(.object.rows | length) \(.object.rows[0].cells[0]) \([.object.columnDefinitions[].name] | join("/"))"' <<<"$ev")" \
    "Table 1 w0 Name/Data/Age" "Table watch event"

# bookmarks
bm=$(api_curl "$CM?watch=true&allowWatchBookmarks=true&resourceVersion=$(api_curl $CM | jq -r .metadata.resourceVersion)&timeoutSeconds=2" -N --max-time 5)
expect_match "$(jq -r 'select(.type=="BOOKMARK") | "\(.object.kind) \(.object.metadata.resourceVersion)"' <<<"$bm" | head -1)" '^ConfigMap [0-9]+$' \
    "bookmark event with a resourceVersion"

# 410 Expired when the ring (50 events here) rolled over
old=$(api_curl $CM | jq -r .metadata.resourceVersion)
for i in $(seq 1 60); do kubectl annotate cm w0 --overwrite "n=$i" >/dev/null; done
ev=$(api_curl "$CM?watch=true&resourceVersion=$old" -N --max-time 4)
expect_eq "$(jq -r '"\(.type) \(.object.code) \(.object.reason)"' <<<"$ev")" "ERROR 410 Expired" "expired resourceVersion: 410 ERROR event"
expect_match "$(jq -r .object.message <<<"$ev")" "too old resource version: $old" "410 message names the resourceVersion"
# The store's resourceVersion is global (node heartbeats advance it too): replay from the
# ConfigMap's own version, then make exactly three changes.
recent=$(api_curl $CM/w0 | jq -r .metadata.resourceVersion)
for i in 1 2 3; do kubectl annotate cm w0 --overwrite "r=$i" >/dev/null; done
expect_eq "$(watch_events "$CM?watch=true&resourceVersion=$recent&timeoutSeconds=1" | wc -l)" "3" \
    "recent resourceVersions still replay"

# after a restart: an old resourceVersion is 410, the current one works, RVs keep growing
rv=$(api_curl $CM | jq -r .metadata.resourceVersion)
kroll_stop
mv "$TEST_DIR/server.log" "$TEST_DIR/server.log.1" # kroll_start waits for a new "ready" line
kroll_start
rv2=$(api_curl $CM | jq -r .metadata.resourceVersion)
[ "$rv2" -ge "$rv" ] && pass "resourceVersion does not go back after a restart ($rv -> $rv2)" || fail "resourceVersion went back: $rv -> $rv2"
ev=$(api_curl "$CM?watch=true&resourceVersion=$((rv - 5))" -N --max-time 4)
expect_eq "$(jq -r '"\(.type) \(.object.code)"' <<<"$ev")" "ERROR 410" "watch from before the restart: 410"
( sleep 0.5; kubectl create cm after >/dev/null ) &
expect_eq "$(watch_events "$CM?watch=true&resourceVersion=$rv&timeoutSeconds=2" | tr '\n' ',')" "ADDED after," \
    "watch from the current resourceVersion after a restart sees new events"
[ "$(kubectl get cm after -o jsonpath='{.metadata.resourceVersion}')" -gt "$rv2" ] && pass "resourceVersion continues after restart" || fail "new object's resourceVersion is not above $rv2"
finish
