#!/usr/bin/env bash
# Crash test (issue 10): kill -9 of the server at a random moment of each of CRASH_KILLS rolling
# updates (default 20) of a 4-replica model-server Deployment, under GET and POST load through
# its Service and a writer creating ConfigMaps. After every restart the image acknowledged by
# `kubectl set image` is the Deployment's spec; at the end the rollout completes, exactly 4 pods
# of the final template are Ready, no pod is duplicated or orphaned, every acknowledged
# ConfigMap exists with its content, and the load saw no failed request.
# Replay a failure with the seed it prints: CRASH_SEED=<seed> [CRASH_KILLS=n] ctest -R t0526
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
PY=/usr/bin/python3
KILLS=${CRASH_KILLS:-20}
# The kill comes 0..CRASH_WINDOW_MS after `set image`: about how long one rollout takes here.
WINDOW_MS=${CRASH_WINDOW_MS:-3000}
SEED=${CRASH_SEED:-$RANDOM}
RANDOM=$SEED
say "seed $SEED kills $KILLS window ${WINDOW_MS}ms (replay: CRASH_SEED=$SEED CRASH_KILLS=$KILLS)"
[ -f "$ROLLOUT_LOAD" ] || { say "SKIP: the shared load harness $ROLLOUT_LOAD is not beside this clone"; exit 0; }
command -v wrk >/dev/null 2>&1 || { fail "wrk is not installed (make test-deps)"; exit 1; }
svc_setup
T0=$(date +%s)

deploy web 4 1.0.3
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8501}]
Y
wait_for 90 "deployment ready" -- ready_n web 4
IP=$(svc_ip web)
wait_for 20 "clusterIP answers" -- curl -sf -m 2 -o /dev/null "http://$IP/v1/models/classifier"

# Load for the whole test: wrk runs "forever" and prints its summary on SIGINT.
LUA=$(dirname "$ROLLOUT_LOAD")/lua/rollout.lua
wrk_start() { # NAME METHOD PATH CONNECTIONS
    BENCH_METHOD=$2 BENCH_BODY='{"instances":[[1.0,2.0,3.0,4.0]]}' \
        wrk -t1 -c"$4" -d3600s --timeout 5s -s "$LUA" "http://$IP$3" >"$TEST_DIR/wrk.$1" 2>&1 &
    KROLL_PIDS="$KROLL_PIDS $!"
    eval "WRK_$1=$!"
}
wrk_start get GET /v1/models/classifier 8
wrk_start post POST /v1/models/classifier:predict 4
# A timeline for replaying a failure: the proxy's failures and routable endpoints over time.
"$PY" "$KROLL_SRC/tests/load/proxy-timeline.py" "$(cat "$KROLL_DATA/run/proxy.admin")" default/web:80 \
    "$TEST_DIR/timeline" "$TEST_DIR/load.stop" &
KROLL_PIDS="$KROLL_PIDS $!"

# The writer: creates ConfigMaps ack-1, ack-2, ... and records the ones answered 2xx.
cat >"$TEST_DIR/writer.sh" <<'W'
end=$(( $(date +%s) + 1800 )); i=0
while [ ! -e "$TEST_DIR/writer.stop" ] && [ "$(date +%s)" -lt "$end" ]; do
    i=$((i + 1))
    code=$(curl -s -m 5 --cacert "$KROLL_DATA/pki/ca.crt" -H "Authorization: Bearer $KROLL_TOKEN" \
        -H 'Content-Type: application/json' -o /dev/null -w '%{http_code}' -X POST \
        -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"ack-$i\"},\"data\":{\"n\":\"$i\",\"seed\":\"$SEED\"}}" \
        "https://127.0.0.1:$KROLL_PORT/api/v1/namespaces/default/configmaps")
    case $code in 2??) echo "$i" >>"$TEST_DIR/acked" ;; esac
    echo "$i $code" >>"$TEST_DIR/writer.log"
    sleep 0.1
done
W
touch "$TEST_DIR/acked"
TEST_DIR=$TEST_DIR KROLL_DATA=$KROLL_DATA KROLL_TOKEN=$KROLL_TOKEN KROLL_PORT=$KROLL_PORT SEED=$SEED \
    bash "$TEST_DIR/writer.sh" &
WRITER=$!
KROLL_PIDS="$KROLL_PIDS $WRITER"

# Restarts the server on the same port (kubeconfig, the proxy and the writer keep working).
server_restart() {
    local skip
    skip=$(wc -l <"$TEST_DIR/server.log")
    "$KROLL_BIN" server --data-dir "$KROLL_DATA" --listen "127.0.0.1:$KROLL_PORT" \
        >>"$TEST_DIR/server.log" 2>&1 </dev/null &
    KROLL_SERVER_PID=$!
    for _ in $(seq 1 600); do
        tail -n +"$((skip + 1))" "$TEST_DIR/server.log" | grep -q 'msg="ready"' && return 0
        kill -0 "$KROLL_SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    fail "restarted server not ready within 30s"; return 1
}

# Pods, ReplicaSets, owners, shims and stray processes, all checked in one pass.
dep_ready_pods_ok() { crash_check pods >/dev/null; }
crash_check() { # MODE: pods (final template pods only) | all
    api_curl /api/v1/namespaces/default/pods >"$TEST_DIR/pods.json" &&
    api_curl /apis/apps/v1/namespaces/default/replicasets >"$TEST_DIR/rs.json" &&
    api_curl /apis/apps/v1/namespaces/default/deployments/web >"$TEST_DIR/dep.json" &&
    "$PY" "$(dirname "$0")/t0526-check.py" "$1" "$TEST_DIR" "$KROLL_DATA"
}
ver=1.0.3
for k in $(seq 1 "$KILLS"); do
    if [ "$ver" = 1.0.3 ]; then ver=1.0.4; else ver=1.0.3; fi
    if ! kubectl set image deploy/web "server=myrepo/tf-serving:$ver" >/dev/null; then
        fail "kill $k: set image $ver"; break
    fi
    ms=$(( (RANDOM * 32768 + RANDOM) % (WINDOW_MS + 1) ))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -9 "$KROLL_SERVER_PID"; wait "$KROLL_SERVER_PID" 2>/dev/null
    say "kill $k at $(date +%T.%3N): ${ms}ms after set image $ver ($(wc -l <"$TEST_DIR/acked") ConfigMaps acknowledged)"
    server_restart || break
    img=$(kubectl get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')
    [ "$img" = "myrepo/tf-serving:$ver" ] || fail "kill $k: acknowledged image $ver lost: spec has $img"
    kubectl rollout status deploy/web --timeout=120s >"$TEST_DIR/rollout.out" 2>&1 ||
        { fail "kill $k: rollout to $ver did not complete in 120s: $(tail -n 2 "$TEST_DIR/rollout.out")"; break; }
done
T1=$(date +%s)
say "$KILLS kills in $((T1 - T0))s"
touch "$TEST_DIR/writer.stop"
wait "$WRITER"

expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')" \
    "myrepo/tf-serving:$ver" "final image is the last acknowledged one"
expect_rc 0 "final rollout completes" -- kubectl rollout status deploy/web --timeout=120s
wait_for 60 "exactly 4 pods, all of the final template, Ready" -- sh_eval \
    'test "$(kubectl get pods -l app=web -o name | wc -l)" = 4 && dep_ready_pods_ok'

if crash_check all >"$TEST_DIR/check.out" 2>&1; then
    pass "no duplicated, orphaned or stray pod, ReplicaSet or process: $(tail -n 1 "$TEST_DIR/check.out")"
else
    fail "pod/ReplicaSet/process check: $(tr '\n' ' ' <"$TEST_DIR/check.out")"
fi

# Nothing acknowledged is lost.
api_curl /api/v1/namespaces/default/configmaps >"$TEST_DIR/cms.json"
lost=$("$PY" - "$TEST_DIR/cms.json" "$TEST_DIR/acked" <<'PY'
import json, sys
items = {c["metadata"]["name"]: c.get("data", {}) for c in json.load(open(sys.argv[1]))["items"]}
bad = [n for n in open(sys.argv[2]).read().split()
       if items.get("ack-" + n, {}).get("n") != n]
print(" ".join(bad))
PY
)
nack=$(wc -l <"$TEST_DIR/acked")
ncm=$(kubectl get cm -o name | grep -c '/ack-')
say "writer: $(wc -l <"$TEST_DIR/writer.log") creates tried, $nack acknowledged, $ncm found"
[ "$nack" -gt "$((KILLS * 2))" ] || fail "the writer got too few acknowledgements ($nack) to mean anything"
expect_eq "$lost" "" "every acknowledged ConfigMap exists with its content ($nack)"

# The load saw no failure from start to end.
for w in get post; do
    eval "pid=\$WRK_$w"
    kill -INT "$pid"; wait "$pid"
    line=$(grep -m1 '^ROLLOUT' "$TEST_DIR/wrk.$w")
    say "load $w: $line"
    case $line in *non2xx=0\ *) ;; *) show_failures=1 ;; esac
    expect_match "$line" '^ROLLOUT requests=[1-9][0-9]* non2xx=0 connect=0 read=0 write=0 timeout=0 ' \
        "$w load through the Service: 0 failed over $((T1 - T0))s and $KILLS kills"
done
touch "$TEST_DIR/load.stop"
if [ -n "${show_failures:-}" ]; then
    say "when the proxy answered 5xx (timeline; kill times above):"
    awk '{split($2,a,"=")} a[2]!=p {print "    " $0; p=a[2]}' "$TEST_DIR/timeline" | cut -c1-300
fi
finish
