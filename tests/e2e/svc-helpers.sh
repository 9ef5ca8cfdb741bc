# Helpers for the Service data-plane tests (t052x): source after lib.sh.
#   svc_setup                 skips without images/netns, imports the model-server images,
#                             starts the server (which starts `kroll proxy --data-dir`)
#   svc_ip NAME               clusterIP of a Service
#   version_of URL            the X-Model-Version that answered (empty on failure)
#   load_check WHAT SECS -- CMD...   bench/rollout-load.sh against $LOAD_HOST:$LOAD_PORT while
#                             CMD runs; passes when no request failed (extra args in LOAD_ARGS)
IMAGES=$KROLL_BUILD/examples/images
. "$(dirname "${BASH_SOURCE[0]}")/img-lib.sh"
# The shared zero-downtime harness lives beside the repository (../shared/bench/).
ROLLOUT_LOAD=${ROLLOUT_LOAD:-$KROLL_SRC/../shared/bench/rollout-load.sh}

svc_setup() {
    [ -d "$IMAGES/tf-serving-1.0.3" ] || { say "SKIP: no model-server images in $IMAGES"; exit 0; }
    unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }
    for v in 1.0.3 1.0.4; do
        "$KROLL_BIN" image import "$IMAGES/tf-serving-$v" "docker.io/myrepo/tf-serving:$v" \
            --data-dir "$KROLL_DATA" >/dev/null || { fail "image import $v"; exit 1; }
    done
    kroll_start "$@"
    wait_for 10 "server started the proxy" -- test -s "$KROLL_DATA/run/proxy.admin"
    PROXY_PID=$(cat "$KROLL_DATA/run/proxy.pid")
    # lib.sh's cleanup does not know the proxy: stop it (and the server first) on exit.
    trap 'rc=$?; "$KROLL_BIN" stop --data-dir "$KROLL_DATA" >/dev/null 2>&1; (exit $rc); cleanup' EXIT
}

svc_ip() { kubectl get svc "$1" -o jsonpath='{.spec.clusterIP}'; }

version_of() {
    curl -s -m 3 -o /dev/null -D - "$1" | sed -n 's/^[Xx]-[Mm]odel-[Vv]ersion: *\([^\r]*\).*/\1/p'
}

metrics() { curl -s -m 3 "http://$(cat "$KROLL_DATA/run/proxy.admin")/metrics"; }

# deploy NAME REPLICAS VERSION [LABEL=VALUE]: a model-server Deployment, app=NAME (+ label)
deploy() {
    local name=$1 n=$2 ver=$3 extra=${4:-}
    local lbl="app: $name"
    [ -n "$extra" ] && lbl="$lbl, ${extra%%=*}: ${extra#*=}"
    kubectl apply -f - >/dev/null <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: $name}
spec:
  replicas: $n
  selector: {matchLabels: {$lbl}}
  template:
    metadata: {labels: {$lbl}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: server
        image: myrepo/tf-serving:$ver
        args: ["--port=0", "--rest_api_port=8501", "--model_name=classifier", "--model_base_path=/models/classifier"]
        env: [{name: MODEL_VERSION, value: "$name-$ver"}]
        ports: [{containerPort: 8501}]
        readinessProbe:
          httpGet: {path: /v1/models/classifier, port: 8501}
          periodSeconds: 1
Y
}

ready_n() { [ "$(kubectl get deploy "$1" -o jsonpath='{.status.readyReplicas}')" = "$2" ] &&
            [ "$(kubectl get deploy "$1" -o jsonpath='{.status.updatedReplicas}')" = "$2" ]; }

load_check() {
    local what=$1 secs=$2; shift 3
    if [ ! -f "$ROLLOUT_LOAD" ]; then
        # Without the harness the command still runs, so the test's other checks stay valid.
        say "SKIP load check '$what': the shared harness $ROLLOUT_LOAD is not beside this clone"
        "$@" >"$TEST_DIR/load.out" 2>&1 || fail "$what: the command failed: $(tail -n 3 "$TEST_DIR/load.out")"
        return 0
    fi
    command -v wrk >/dev/null 2>&1 || { fail "$what: wrk is not installed (make test-deps)"; return 1; }
    if bash "$ROLLOUT_LOAD" --host "$LOAD_HOST" --port "$LOAD_PORT" --duration "$secs" ${LOAD_ARGS:-} \
        -- "$@" >"$TEST_DIR/load.out" 2>&1; then
        pass "$what: $(grep -m1 '^PASS' "$TEST_DIR/load.out")"
    else
        fail "$what: $(grep -E 'non-2xx|socket errors|FAIL|ERROR' "$TEST_DIR/load.out" | tr '\n' ' ')"
    fi
}
