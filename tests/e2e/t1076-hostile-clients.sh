#!/bin/bash
# t1076: the hostile-client test. For 40 s the API and the proxy (a Service with a backend
# pod) take slowloris connections, oversized heads and bodies, connection floods, deeply
# nested JSON and exploding JSON patches all at once, while a well-behaved client keeps using both: kubectl get, curl
# create+get+delete of ConfigMaps, and curl through the Service. The well-behaved client must
# see 0 failures, and the peak RSS (VmHWM) of the server and of the proxy must stay under the
# bounds below (measured: server 27.6 MB, proxy 12.0 MB peak under this load; bounds ~2x).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
PY=/usr/bin/python3
HL="$PY $(dirname "$0")/t1079-hostile-lib.py"
CM=/api/v1/namespaces/default/configmaps
SECS=${HOSTILE_SECS:-40}
SERVER_HWM_MAX_KB=${SERVER_HWM_MAX_KB:-60000}
PROXY_HWM_MAX_KB=${PROXY_HWM_MAX_KB:-25000}
svc_setup
cd "$TEST_DIR"

deploy web 1 1.0.3
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8501}]
Y
wait_for 60 "backend ready" -- ready_n web 1
IP=$(svc_ip web)
wait_for 20 "the Service answers" -- curl -sf -m 2 -o /dev/null "http://$IP/v1/models/classifier"
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
say "before the attack: server VmHWM $(hwm "$KROLL_SERVER_PID") kB, proxy VmHWM $(hwm "$PROXY_PID") kB"

$HL attack "$KROLL_PORT" "$KROLL_TOKEN" "$IP" 80 "$SECS" >attack.out 2>&1 &
ATTACK=$!; KROLL_PIDS="$KROLL_PIDS $ATTACK"

# Exploding JSON patches: 18 "copy" ops that each double /data (CVE-2019-1002100's class),
# sent in a loop for the whole attack; each must be refused (413) without building the object.
kubectl create configmap boom --from-literal=a="$(head -c 1000 /dev/zero | tr '\0' x)" >/dev/null
$PY -c '
import json
print(json.dumps([{"op": "copy", "from": "/data", "path": "/data/d%d" % i} for i in range(18)]))' >double.json
(
    n=0; refused=0; end=$(( $(date +%s) + SECS ))
    while [ "$(date +%s)" -lt "$end" ]; do
        c=$(api_curl "$CM/boom" -m 20 -X PATCH -H 'Content-Type: application/json-patch+json' \
            --data-binary @double.json -o /dev/null -w '%{http_code}')
        n=$((n + 1)); [ "$c" = 413 ] && refused=$((refused + 1))
    done
    echo "patches=$n refused=$refused" >patch.out
) &
PATCHER=$!; KROLL_PIDS="$KROLL_PIDS $PATCHER"

ok=0; bad=0; i=0
end=$(( $(date +%s) + SECS ))
while [ "$(date +%s)" -lt "$end" ]; do
    i=$((i + 1))
    r1=$(kubectl get cm --request-timeout=20s -o name >/dev/null 2>&1 && echo ok)
    r2=$(api_curl $CM -m 20 -X POST -H 'Content-Type: application/json' \
        -d "{\"metadata\":{\"name\":\"good$i\"},\"data\":{\"k\":\"v$i\"}}" -o /dev/null -w '%{http_code}')
    r3=$(api_curl "$CM/good$i" -m 20 | jq -r '.data.k' 2>/dev/null)
    r4=$(api_curl "$CM/good$i" -m 20 -X DELETE -o /dev/null -w '%{http_code}')
    r5=$(curl -s -m 20 -o /dev/null -w '%{http_code}' "http://$IP/v1/models/classifier")
    if [ "$r1 $r2 $r3 $r4 $r5" = "ok 201 v$i 200 200" ]; then
        ok=$((ok + 1))
    else
        bad=$((bad + 1)); say "well-behaved round $i failed: $r1 $r2 $r3 $r4 $r5"
    fi
done
for _ in $(seq 1 600); do kill -0 $ATTACK 2>/dev/null || break; sleep 0.1; done
for _ in $(seq 1 600); do kill -0 $PATCHER 2>/dev/null || break; sleep 0.1; done
say "attack: $(cat attack.out) $(cat patch.out)"
expect_match "$(cat patch.out)" '^patches=([1-9][0-9]*) refused=\1$' "every exploding patch was refused with 413"
expect_eq "$bad" 0 "the well-behaved client saw 0 failures in $i rounds under attack"
[ "$ok" -ge 5 ] && pass "the well-behaved client made progress ($ok rounds)" || fail "only $ok rounds in ${SECS}s"
for k in bigbody_api bigbody_proxy bighead_api bighead_proxy deep_json flood_api flood_proxy; do
    expect_match "$(cat attack.out)" "(^| )$k=[1-9]" "attack $k ran"
done
s=$(hwm "$KROLL_SERVER_PID"); p=$(hwm "$PROXY_PID")
rss_bound "$s" "$SERVER_HWM_MAX_KB" "server peak RSS"
rss_bound "$p" "$PROXY_HWM_MAX_KB" "proxy peak RSS"
expect_eq "$(api_curl /healthz)" ok "server still serving"
expect_eq "$(api_curl "$CM" | jq '[.items[].metadata.name | select(startswith("good"))] | length')" 0 \
    "nothing left behind: every good ConfigMap was deleted, no hostile one stored"
expect_eq "$(api_curl "$CM/boom" | jq -c ".data | keys")" '["a"]' "the exploding patches changed nothing"
finish
