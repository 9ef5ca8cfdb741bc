#!/usr/bin/env bash
# How fast the Service proxy follows the cluster, and what it costs at rest: a model-server
# Deployment behind a Service is scaled 1 -> 2 -> 1 ROUNDS times (default 10); each time the
# moment a watcher of the API sees the new pod Ready and the moment the proxy's /metrics lists
# it as a ready endpoint are taken (metrics polled every 5 ms), and the difference is printed
# (p50, max). Then the proxy's idle RSS and thread count. Needs what t052x need (images, netns).
#   bash tests/bench/proxy-react.sh [ROUNDS]
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/svc-helpers.sh"
ROUNDS=${1:-10}
svc_setup
deploy web 1 1.0.3
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8501}]
Y
wait_for 60 "deployment ready" -- ready_n web 1
/usr/bin/python3 - "$KUBECONFIG" "$(cat "$KROLL_DATA/run/proxy.admin")" "$ROUNDS" <<'PY'
import base64, json, re, ssl, subprocess, sys, threading, time, urllib.request
kcfg, admin, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(kcfg).read()
server = re.search(r"server: (\S+)", text).group(1)
token = re.search(r"token: (\S+)", text).group(1)
ca = base64.b64decode(re.search(r"certificate-authority-data: (\S+)", text).group(1)).decode()
ctx = ssl.create_default_context(cadata=ca)
ready_at, proxy_at = {}, {}

def watch():
    url = server + "/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dweb"
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    for line in urllib.request.urlopen(req, context=ctx, timeout=600):
        obj = json.loads(line)["object"]
        name = obj["metadata"]["name"]
        conds = obj.get("status", {}).get("conditions", [])
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
            ready_at.setdefault(name, time.monotonic())

threading.Thread(target=watch, daemon=True).start()
pat = re.compile(r'^kroll_proxy_endpoint_ready\{service="default/web:80",.*pod="default/([^"]+)".*\} 1$')

def poll(until):
    while time.monotonic() < until:
        now = time.monotonic()
        for l in urllib.request.urlopen("http://%s/metrics" % admin, timeout=3).read().decode().splitlines():
            m = pat.match(l)
            if m:
                proxy_at.setdefault(m.group(1), now)
        if until_cb():
            return True
        time.sleep(0.005)
    return False

time.sleep(1)
deltas = []
for i in range(rounds):
    before = set(ready_at)
    subprocess.run(["kubectl", "scale", "deploy", "web", "--replicas=2"], check=True, capture_output=True)
    new = lambda: [p for p in ready_at if p not in before and p in proxy_at]
    until_cb = lambda: bool(new())
    if not poll(time.monotonic() + 60):
        print("round %d: no new pod in the proxy within 60 s" % i); continue
    p = new()[0]
    deltas.append((proxy_at[p] - ready_at[p]) * 1000)
    subprocess.run(["kubectl", "scale", "deploy", "web", "--replicas=1"], check=True, capture_output=True)
    subprocess.run(["kubectl", "wait", "--for=delete", "pod/" + p, "--timeout=60s"], capture_output=True)
deltas.sort()
print("pod Ready (seen by a watcher) -> proxy table, ms: n=%d p50=%.0f max=%.0f all=%s" % (
    len(deltas), deltas[len(deltas) // 2] if deltas else -1, deltas[-1] if deltas else -1,
    " ".join("%.0f" % d for d in deltas)))
PY
sleep 5
PP=$(cat "$KROLL_DATA/run/proxy.pid")
say "proxy idle: RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$PP/status), threads $(ls /proc/$PP/task | wc -l), load $(cut -d' ' -f1-3 /proc/loadavg)"
finish
