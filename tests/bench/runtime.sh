#!/usr/bin/env bash
# Pod start latency and per-pod overhead of a container runtime:
#   tests/bench/runtime.sh [process|runc] [PODS]
# Starts a server with --runtime=RUNTIME in a temp dir, then creates PODS pods one at a time (a
# busybox-static image running httpd, an httpGet readiness probe every 1 s; an exec probe
# would time `runc exec` under load) and times, from a watch on
# the pods, the first event of each pod (its creation) to the first showing it Running and the
# first showing it Ready. Prints p50/p99 of both and the mean RSS per pod of what the runtime
# keeps running beside the containers (the shim, plus any runc process left), with all pods up.
set -u
RUNTIME=${1:-process}
N=${2:-20}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
KROLL_BIN=${KROLL_BIN:-$SRC/build/kroll}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kroll-bench-rt.XXXXXX")
DATA=$TMP/data
SRV=""; WATCH=""
cleanup() {
    [ -n "$WATCH" ] && kill "$WATCH" 2>/dev/null
    if [ -n "$SRV" ]; then
        KUBECONFIG=$DATA/kubeconfig kubectl delete pods --all --timeout=120s >/dev/null 2>&1
        kill -TERM "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null
    fi
    [ -f "$DATA/run/proxy.pid" ] && kill -TERM "$(cat "$DATA/run/proxy.pid")" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

img=$TMP/img; mkdir -p "$img/bin"
cp /bin/busybox "$img/bin/"
for a in sh sleep true httpd; do ln -s busybox "$img/bin/$a"; done
mkdir -p "$img/www"; echo ok >"$img/www/index.html"
# Relative paths: the process runtime runs in the image's directory, runc in its root.
echo '{"Cmd":["./bin/busybox","httpd","-f","-p","8080","-h","www"],"Env":["PATH=/bin"]}' \
    >"$img/image.json"
# A tagged image (pull policy IfNotPresent): with bench/bb (:latest, Always) each start would
# first try a registry with skopeo, which measures the network, not the runtime.
"$KROLL_BIN" image import "$img" bench/bb:1 --data-dir "$DATA" >/dev/null || exit 1
"$KROLL_BIN" server --data-dir "$DATA" --listen 127.0.0.1:0 --runtime="$RUNTIME" >"$TMP/server.log" 2>&1 &
SRV=$!
for _ in $(seq 1 150); do grep -q 'msg="ready"' "$TMP/server.log" && break; sleep 0.1; done
export KUBECONFIG=$DATA/kubeconfig

kubectl get pods -w -o jsonpath='{.metadata.name} {.status.phase} {.status.conditions[?(@.type=="Ready")].status}{"\n"}' 2>/dev/null |
    while read -r line; do echo "$(date +%s%N) $line"; done >"$TMP/events" &
WATCH=$!
sleep 1
for i in $(seq 1 "$N"); do
    cat <<Y | kubectl create -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: b$i}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: bench/bb:1
    readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
Y
    for _ in $(seq 1 600); do grep -q "^[0-9]* b$i Running True" "$TMP/events" && break; sleep 0.05; done
done
rss=0
for f in "$DATA"/pods/*/shim.pid; do
    r=$(awk '/^VmRSS/ { print $2 }' "/proc/$(cat "$f")/status" 2>/dev/null); rss=$((rss + ${r:-0}))
done
for p in $(pgrep -x runc); do
    r=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null); rss=$((rss + ${r:-0}))
done
/usr/bin/python3 - "$TMP/events" "$N" "$rss" "$RUNTIME" <<'PY'
import sys
first, running, ready = {}, {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 2: continue
    t, name = int(f[0]) / 1e6, f[1]
    first.setdefault(name, t)
    if len(f) > 2 and f[2] == "Running": running.setdefault(name, t)
    if len(f) > 3 and f[3] == "True": ready.setdefault(name, t)
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")
r = [running[n] - first[n] for n in running]
y = [ready[n] - first[n] for n in ready]
n = int(sys.argv[2])
print("%s: %d pods: create->Running p50 %.0f ms p99 %.0f ms; create->Ready p50 %.0f ms p99 %.0f ms;"
      " runtime RSS per pod %.0f kB" % (sys.argv[4], len(r), pct(r, 50), pct(r, 99), pct(y, 50),
                                         pct(y, 99), int(sys.argv[3]) / max(n, 1)))
PY
