# Helpers for the Deployment/ReplicaSet conformance tests (t0350-t0399). Source after lib.sh:
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/deploy-lib.sh"
# Images (imported before kroll_start): test/app:1, :2, :3 are ready at once (GET /ready on
# port 8080 answers 200); test/app:bad never becomes ready (404). The readiness probe is an
# httpGet, not an exec: under runc every exec probe is a `runc exec` (about 0.14 s of CPU), and
# a dozen pods probed every second would load 2 cores by themselves (exec probes are covered by
# t0406 and t0621). The process exits on SIGTERM after
# $TERM_DELAY seconds (default 0), so termination can be made visible.
#   dep_manifest NAME REPLICAS IMAGE [EXTRA-SPEC-YAML...]  prints a Deployment (app=NAME)
#   trace_start NAME / trace_stop                          records watch streams, replays them
#   trace_max/trace_min NAME COLUMN                        extremes over the replayed trace
#   rs_names, rs_field, dep_field, dep_cond, events_for, dep_complete

. "$(dirname "${BASH_SOURCE[0]}")/img-lib.sh"

# A busybox root (img-lib.sh), so the same image runs as a host directory and as a container.
dl_mkimage() { # DIR READY-EXIT
    img_root "$1"
    cat >"$1/app.sh" <<'SH'
#!/bin/sh
trap 'sleep "${TERM_DELAY:-0}"; exit 0' TERM
echo "app $APP_VERSION up"
./bin/busybox httpd -f -p 8080 -h www &
while :; do sleep 1 & wait $!; done
SH
    mkdir -p "$1/www"
    [ "$2" = 0 ] && echo ready >"$1/www/ready"
    chmod +x "$1/app.sh"
    echo '{"Entrypoint":["./app.sh"],"Env":["PATH=/usr/bin:/bin","APP_VERSION=x"],"WorkingDir":""}' \
        >"$1/image.json"
}

# Imports the test images; call before kroll_start (the image store is in the data dir).
dl_images() {
    mkdir -p "$KROLL_DATA"
    dl_mkimage "$TEST_DIR/img-good" 0
    dl_mkimage "$TEST_DIR/img-bad" 1
    for t in 1 2 3 4 5; do
        "$KROLL_BIN" image import "$TEST_DIR/img-good" "test/app:$t" --data-dir "$KROLL_DATA" \
            >/dev/null || { fail "image import"; exit 1; }
    done
    "$KROLL_BIN" image import "$TEST_DIR/img-bad" test/app:bad --data-dir "$KROLL_DATA" >/dev/null ||
        { fail "image import"; exit 1; }
}

# dep_manifest NAME REPLICAS IMAGE [spec lines...]: extra lines are inserted under spec: with
# two spaces of indentation already applied by the caller (e.g. "  minReadySeconds: 1").
dep_manifest() {
    local name=$1 r=$2 img=$3; shift 3
    cat <<Y
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $name
  labels: {app: $name}
spec:
  replicas: $r
  selector: {matchLabels: {app: $name}}
Y
    for l in "$@"; do printf '%s\n' "$l"; done
    cat <<Y
  template:
    metadata: {labels: {app: $name}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: app
        image: $img
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
          periodSeconds: 1
Y
}

dep_apply() { # NAME REPLICAS IMAGE [spec lines...]
    dep_manifest "$@" | kubectl apply -f - >/dev/null
}

dep_field() { kubectl get deploy "$1" -o jsonpath="{$2}"; }
dep_cond() { # NAME TYPE FIELD
    kubectl get deploy "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}"
}
# RS names of a deployment, oldest first.
rs_names() {
    kubectl get rs -l "app=$1" --sort-by=.metadata.creationTimestamp -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'
}
rs_field() { kubectl get rs "$1" -o jsonpath="{$2}"; }
events_for() { # OBJECT-NAME: "reason message" lines in time order
    kubectl get events --field-selector "involvedObject.name=$1" \
        --sort-by=.metadata.creationTimestamp -o jsonpath='{range .items[*]}{.reason} {.message}{"\n"}{end}'
}

# complete NAME R: the rollout is done (updated = replicas = available = R, generation observed).
dep_complete() {
    local s
    s=$(kubectl get deploy "$1" -o jsonpath='{.status.updatedReplicas}/{.status.replicas}/{.status.availableReplicas}/{.status.observedGeneration}/{.metadata.generation}')
    local IFS=/; set -- "$2" $s
    [ "$2" = "$1" ] && [ "$3" = "$1" ] && [ "$4" = "$1" ] && [ "${5:-0}" -ge "${6:-1}" ]
}

# trace_start NAME: watches the Deployment, its ReplicaSets and pods (three watch streams with
# curl); trace_stop ends them and replays the merged events in resourceVersion order, printing
# after each event one line into $TEST_DIR/trace.NAME:
#   <Σ RS spec> <D availableReplicas> <non-terminating pods> <terminating pods> <Σ RS available>
#   <rs:spec/available,...> <pod names alive, new-RS pods marked with their rs hash>
trace_start() {
    local name=$1 q="labelSelector=app%3D$1&watch=1&timeoutSeconds=600" p
    TRACE_NAME=$name
    TRACE_PIDS=""
    # Events older than this list's resourceVersion only rebuild the starting state.
    api_curl "/api/v1/namespaces/default/pods?labelSelector=app%3D$1" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])' \
        >"$TEST_DIR/trace-rv.$name"
    for p in "/apis/apps/v1/namespaces/default/replicasets?$q" "/api/v1/namespaces/default/pods?$q" \
             "/apis/apps/v1/namespaces/default/deployments?fieldSelector=metadata.name%3D$name&watch=1&timeoutSeconds=600"; do
        api_curl "$p" -N >>"$TEST_DIR/watch.$name" 2>/dev/null &
        TRACE_PIDS="$TRACE_PIDS $!"
        KROLL_PIDS="$KROLL_PIDS $!"
    done
    sleep 0.3
}
trace_stop() {
    sleep 0.3
    for p in $TRACE_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    python3 - "$TEST_DIR/watch.$TRACE_NAME" "$(cat "$TEST_DIR/trace-rv.$TRACE_NAME")" \
        >"$TEST_DIR/trace.$TRACE_NAME" <<'PY'
import json, sys
evs = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    try:
        e = json.loads(line)
    except ValueError:
        continue
    o = e.get("object", {})
    if e.get("type") not in ("ADDED", "MODIFIED", "DELETED"):
        continue
    evs.append((int(o["metadata"].get("resourceVersion", 0)), e["type"], o))
evs.sort(key=lambda t: t[0])
start = int(sys.argv[2] or 0)
state = {}
prev = None
for rv, typ, o in evs:
    key = (o["kind"], o["metadata"]["name"])
    if typ == "DELETED":
        state.pop(key, None)
    else:
        state[key] = o
    rs = sorted([v for (k, n), v in state.items() if k == "ReplicaSet"],
                key=lambda r: r["metadata"]["creationTimestamp"] + r["metadata"]["name"])
    pods = [v for (k, n), v in state.items() if k == "Pod"]
    ds = [v for (k, n), v in state.items() if k == "Deployment"]
    spec = sum(r["spec"].get("replicas", 1) for r in rs)
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")
            and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
    term = [p for p in pods if p["metadata"].get("deletionTimestamp")]
    dav = ds[0].get("status", {}).get("availableReplicas", 0) if ds else 0
    rsav = sum(r.get("status", {}).get("availableReplicas", 0) for r in rs)
    rsd = ",".join("%s:%d/%d" % (r["metadata"]["name"], r["spec"].get("replicas", 1),
                   r.get("status", {}).get("availableReplicas", 0)) for r in rs)
    line = "%d %d %d %d %d %s %s" % (spec, dav, len(live), len(term), rsav, rsd or "-",
                                     ",".join(sorted(p["metadata"]["name"] for p in live)) or "-")
    if line != prev and rv > start:
        print(line)
    prev = line
PY
}
# trace_max NAME COLUMN / trace_min NAME COLUMN (1-based), over the recorded trace lines.
trace_max() { awk -v c="$2" 'BEGIN{m=-1} $c+0>m{m=$c+0} END{print m}' "$TEST_DIR/trace.$1"; }
trace_min() { awk -v c="$2" 'BEGIN{m=1e9} $c+0<m{m=$c+0} END{print m}' "$TEST_DIR/trace.$1"; }
