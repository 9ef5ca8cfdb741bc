"""The measured parts of `make bench` (see bench.py). Each one adds figures to `res` and raises
BenchError when kroll misbehaves; every wait has a deadline."""
import json
import os
import random
import select
import signal
import subprocess
import tempfile
import time

from kbench import BenchError, WatchStream, percentile, wait_until

# The stored pods are bound to a node that does not exist: the scheduler skips pods that have a
# nodeName and the kubelet syncs only its own node's pods, so they stay Pending in the store (the
# API, the watch cache and every controller's index still carry them) and start no process.
NOWHERE = "bench-nowhere"
NS = "bench"


def ns_create(cl, name):
    cl.request("POST", "/api/v1/namespaces",
               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
               ok=(201, 409))
    # Pods need the namespace's ServiceAccount "default", which a controller creates right
    # after the namespace (as on a cluster); wait for it, bounded.
    for _ in range(100):
        if cl.request("GET", "/api/v1/namespaces/%s/serviceaccounts/default" % name,
                      ok=None)[0] == 200:
            return
        time.sleep(0.1)
    raise BenchError("namespace %s: no ServiceAccount default after 10 s" % name)


def stored_pod(name, i):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "bench", "i": str(i)}},
            "spec": {"nodeName": NOWHERE, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": "bench/none:1"}]}}


def timed_loop(n, fn):
    """Runs fn(i) n times; returns (milliseconds per call, client CPU microseconds per call).
    The client's CPU time (TLS, HTTP and JSON in Python) is part of every latency."""
    ms = []
    c0 = time.process_time()
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        ms.append((time.perf_counter() - t0) * 1000.0)
    return ms, (time.process_time() - c0) * 1e6 / n


def api(srv, cl, cfg, res):
    """GET/LIST/PATCH/CREATE latency with cfg["pods"] pods stored (sequential, keep-alive)."""
    ns_create(cl, NS)
    base = "/api/v1/namespaces/%s/pods" % NS
    n, k = cfg["pods"], cfg["samples"]
    t0 = time.monotonic()
    for i in range(n):
        cl.request("POST", base, stored_pod("p-%05d" % i, i))
    res.add("api.store_rate", n / (time.monotonic() - t0), "pods/s",
            "%d pods created one by one (sequential, keep-alive)" % n)
    for _ in range(20):  # warm-up: TLS session, caches
        cl.request("GET", "/version")
    ms, cpu = timed_loop(k, lambda i: cl.request("GET", "/version"))
    res.lat("api.version", ms, "GET /version: the floor (TLS + HTTP + client)")
    res.add("api.client_cpu", cpu, "us", "the Python client's own CPU per small request "
            "(included in every latency above and below)")
    ms, _ = timed_loop(k, lambda i: cl.request("GET", "%s/p-%05d" % (base, random.randrange(n))))
    res.lat("api.get", ms, "GET one pod, %d stored" % n)
    api_list(cl, base, n, cfg, res)
    patch = lambda i: cl.request(  # noqa: E731
        "PATCH", "%s/p-%05d" % (base, random.randrange(n)),
        {"metadata": {"labels": {"bench-patch": "v%d" % i}}}, "application/merge-patch+json")
    ms, _ = timed_loop(k, patch)
    res.lat("api.patch", ms, "PATCH (merge) one pod's label, %d stored" % n)
    ms, _ = timed_loop(k, lambda i: cl.request("POST", base, stored_pod("c-%05d" % i, n + i)))
    res.lat("api.create", ms, "CREATE one pod, %d+ stored" % n)


def api_list(cl, base, n, cfg, res):
    sizes = []

    def one(i):
        _, body = cl.request("GET", base)
        sizes.append(len(body))
    ms, cpu = timed_loop(cfg["list_samples"], one)
    items = len(json.loads(cl.request("GET", base)[1])["items"])
    if items != n:
        raise BenchError("LIST returned %d pods, %d stored" % (items, n))
    res.lat("api.list", ms, "LIST all %d pods (JSON)" % n)
    res.add("api.list.bytes", sizes[-1], "bytes", "LIST of %d pods, response body" % n)
    res.add("api.list.client_cpu", cpu / 1000.0, "ms", "client CPU per LIST (TLS + read; "
            "no JSON decode), included in api.list")


def check_stored_pending(cl, cfg, res):
    """The stored pods must have stayed in the store only: none bound elsewhere, none started."""
    items = cl.json("GET", "/api/v1/namespaces/%s/pods" % NS)["items"]
    started = [p["metadata"]["name"] for p in items
               if p.get("status", {}).get("phase", "Pending") != "Pending"
               or p["spec"].get("nodeName") != NOWHERE]
    if started:
        raise BenchError("stored pods left Pending: %s" % started[:5])
    res.note("%d stored pods still Pending on node %s (none started)" % (len(items), NOWHERE))


def watch(srv, cl, cfg, res):
    """Time from a write until every one of cfg["watchers"] watchers has the event."""
    ns = "bench-watch"
    ns_create(cl, ns)
    path = "/api/v1/namespaces/%s/configmaps" % ns
    cl.request("POST", path, {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "fan"}, "data": {"v": "0"}})
    ws = [WatchStream(srv, path + "?watch=1") for _ in range(cfg["watchers"])]
    try:
        # Without a resourceVersion each watch starts with an ADDED for the object.
        wait_all(ws, b'"fan"', 120)
        alls, firsts = [], []
        for i in range(cfg["writes"]):
            first, last = one_write(cl, ws, path + "/fan", i)
            firsts.append(first)
            alls.append(last)
        res.lat("watch.fanout", alls, "write -> all %d watchers have the event" % len(ws))
        res.add("watch.fanout.first.p50", percentile(firsts, 50), "ms",
                "write -> the first watcher has it, median")
    finally:
        for w in ws:
            w.close()


def one_write(cl, ws, obj_path, i):
    """PATCHes the ConfigMap and waits, reading every stream in one select loop, until all have
    the new value. The PATCH's answer is read only afterwards so it delays nothing."""
    marker = ('"bench-%d-%d"' % (i, random.randrange(1 << 30))).encode()
    body = json.dumps({"data": {"v": marker.decode().strip('"')}}).encode()
    h = dict(cl.hdrs)
    h["Content-Type"] = "application/merge-patch+json"
    t0 = time.perf_counter()
    cl.conn.request("PATCH", obj_path, body=body, headers=h)
    got = wait_all(ws, marker, 60)
    r = cl.conn.getresponse()
    r.read()
    if r.status != 200:
        raise BenchError("PATCH configmap: %d" % r.status)
    return (min(got) - t0) * 1000.0, (max(got) - t0) * 1000.0


def wait_all(ws, marker, secs):
    """Waits until every stream's data holds marker; returns each stream's arrival time."""
    seen = {}
    end = time.monotonic() + secs
    while len(seen) < len(ws):
        left = end - time.monotonic()
        if left <= 0:
            raise BenchError("only %d of %d watchers got the event in %ds" % (len(seen), len(ws),
                                                                             secs))
        pending = [w for w in ws if w not in seen]
        r, _, _ = select.select(pending, [], [], left)
        for w in r:
            if any(marker in line for line in w.feed()):
                seen[w] = time.perf_counter()
    return list(seen.values())


MODEL_ARGS = ["--port=0", "--rest_api_port=8501", "--model_name=classifier",
              "--model_base_path=/models/classifier"]


def model_container(version, delay, period):
    return {"name": "server", "image": "myrepo/tf-serving:" + version, "args": MODEL_ARGS,
            "ports": [{"containerPort": 8501}],
            "readinessProbe": {"httpGet": {"path": "/v1/models/classifier", "port": 8501},
                               "initialDelaySeconds": delay, "periodSeconds": period}}


def pod_start(srv, cl, cfg, res):
    """Pod create -> Running and -> Ready, one pod at a time, times from a watch on the pods."""
    ns = "bench-pods"
    ns_create(cl, ns)
    path = "/api/v1/namespaces/%s/pods" % ns
    w = WatchStream(srv, path + "?watch=1")
    running, ready = [], []
    try:
        for i in range(cfg["pod_starts"]):
            name = "s-%02d" % i
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                   "spec": {"terminationGracePeriodSeconds": 2,
                            "containers": [model_container("1.0.3", 0, 1)]}}
            t0 = time.perf_counter()
            cl.request("POST", path, pod)
            tr, ty = follow_pod(w, name, 120)
            running.append((tr - t0) * 1000.0)
            ready.append((ty - t0) * 1000.0)
    finally:
        w.close()
    res.lat("pod.running", running, "pod create -> Running (model server, probe period 1 s)")
    res.lat("pod.ready", ready, "pod create -> Ready (first readiness probe at start, then 1 s)")
    delete_all(cl, path, 180)


def follow_pod(w, name, secs):
    """Times at which the watch first showed the pod Running, and Ready."""
    tr = ty = None
    end = time.monotonic() + secs
    while ty is None or tr is None:
        left = end - time.monotonic()
        if left <= 0:
            raise BenchError("pod %s not Running and Ready within %ds" % (name, secs))
        r, _, _ = select.select([w], [], [], left)
        now = time.perf_counter()
        for ev in (w.events() if r else []):
            o = ev.get("object", {})
            if o.get("metadata", {}).get("name") != name:
                continue
            st = o.get("status", {})
            if tr is None and st.get("phase") == "Running":
                tr = now
            if ty is None and any(c.get("type") == "Ready" and c.get("status") == "True"
                                  for c in st.get("conditions", [])):
                ty = now
    return tr, ty


def delete_all(cl, path, secs):
    """Deletes every object of a collection and waits until it is empty."""
    items = cl.json("GET", path)["items"]
    for o in items:
        cl.request("DELETE", "%s/%s" % (path, o["metadata"]["name"]), ok=(200, 202, 404))
    wait_until(secs, "%s emptied" % path, lambda: not cl.json("GET", path)["items"], 0.5)


def deployment(name, replicas, version, m, d, p):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "minReadySeconds": m,
                     "selector": {"matchLabels": labels},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"terminationGracePeriodSeconds": 2,
                                           "containers": [model_container(version, d, p)]}}}}


def rollout_done(o, replicas):
    """kubectl rollout status's test: the controller saw this generation, every replica is
    updated and available, and no old replica is left."""
    st = o.get("status", {})
    return (st.get("observedGeneration", 0) >= o["metadata"].get("generation", 1) and
            st.get("updatedReplicas", 0) == replicas and st.get("replicas", 0) == replicas and
            st.get("availableReplicas", 0) == replicas)


def rollout(srv, cl, cfg, res):
    """A rolling update's duration divided by the schedule's minimum.

    Deployment: R replicas, maxSurge 1, maxUnavailable 0, minReadySeconds M, readiness probe
    initialDelaySeconds D and periodSeconds P. With maxUnavailable 0 an old pod may go only once
    a new one is available, and maxSurge 1 allows one new pod at a time, so the update is R
    steps in a row. In each step the new pod's first probe runs D after its container starts
    (the next one P later), it is Ready at the earliest at D and available M later: a step
    takes at least D + M, the rollout R x (D + M), even with instant scheduling, container
    start, controllers and termination. The figure is measured / minimum (1.0 = no overhead).
    """
    r, m, d, p = cfg["rollout_replicas"], 2, 1, 1
    ns, name = "bench-roll", "roll"
    ns_create(cl, ns)
    path = "/apis/apps/v1/namespaces/%s/deployments" % ns
    cl.request("POST", path, deployment(name, r, "1.0.3", m, d, p))
    wait_until(180, "deployment available", lambda: rollout_done(
        cl.json("GET", path + "/" + name), r), 0.5)
    w = WatchStream(srv, path + "?watch=1&fieldSelector=metadata.name%3D" + name)
    try:
        t0 = time.perf_counter()
        cl.request("PATCH", path + "/" + name,
                   [{"op": "replace", "path": "/spec/template/spec/containers/0/image",
                     "value": "myrepo/tf-serving:1.0.4"}], "application/json-patch+json")
        t1 = follow_rollout(w, r, 300)
    finally:
        w.close()
    minimum = r * (d + m)
    res.add("rollout.seconds", t1 - t0, "s", "rolling update of %d replicas (maxSurge 1, "
            "maxUnavailable 0, minReadySeconds %d, probe delay %d period %d)" % (r, m, d, p))
    res.add("rollout.minimum", minimum, "s", "its schedule's minimum R x (D + M)")
    res.add("rollout.ratio", (t1 - t0) / minimum, "x", "rollout duration / minimum")
    delete_all(cl, path, 60)
    delete_all(cl, "/api/v1/namespaces/%s/pods" % ns, 180)


def follow_rollout(w, replicas, secs):
    end = time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise BenchError("rollout not complete within %ds" % secs)
        r, _, _ = select.select([w], [], [], left)
        now = time.perf_counter()
        for ev in (w.events() if r else []):
            o = ev.get("object", {})
            # The watch opens with an ADDED of the finished old rollout: only count events of
            # the new generation.
            if ev.get("type") == "MODIFIED" and o["metadata"].get("generation", 1) > 1 and \
                    rollout_done(o, replicas):
                return now


def harness_path(env):
    return os.environ.get("BENCH_HARNESS") or os.path.join(env["src"], "..", "shared", "bench")


def proxy(env, cfg, res):
    """kroll's proxy (static mode, the same backends) against nginx and HAProxy, interleaved in
    one run of the shared harness, which pins wrk and the pods to CPU 0 and the proxy under
    test to the other CPUs."""
    h = harness_path(env)
    script = os.path.join(h, "bench.sh")
    missing = [t for t in ("nginx", "haproxy", "wrk", "cc")
               if not any(os.access(os.path.join(d, t), os.X_OK)
                          for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin"])]
    if not os.path.isfile(script) or missing:
        res.note("SKIP proxy: %s" % ("no harness at %s (set BENCH_HARNESS=DIR)" % h
                                     if not os.path.isfile(script) else
                                     "%s not installed (scripts/install-deps.sh --bench)"
                                     % ", ".join(missing)))
        return
    out = os.path.join(env["tmp"], "proxy")
    base = 20000 + 100 * random.randrange(90)
    cand = "exec '%s' proxy --listen 127.0.0.1:$LISTEN_PORT --backends $BACKENDS " \
           "--workers $PROXY_WORKERS" % env["kroll"]
    cmd = ["bash", script, "--candidate", cand, "--candidate-port", str(base + 52),
           "--candidate-name", "kroll", "--base-port", str(base), "--out", out,
           "--rounds", str(cfg["proxy_rounds"]), "--duration", str(cfg["proxy_seconds"]),
           "--quiet-wait", "3", "--retries", "0"]
    # Each of the 4 targets x rounds runs waits up to 3 s for a quiet second, runs wrk and checks
    # the machine: bound that generously, the machine may be busy.
    rc, err, raised = run_harness(cmd,
                                  180 + 4 * cfg["proxy_rounds"] * (cfg["proxy_seconds"] + 15))
    if raised:
        res.note("proxy harness: its %d processes ran at autogroup nice -20 "
                 "(BENCH_PROXY_PRIORITY=1)" % raised)
    if rc != 0 or not os.path.isfile(os.path.join(out, "results.tsv")):
        raise BenchError("proxy harness failed (%s): %s" % (rc, err[-600:]))
    proxy_figures(os.path.join(out, "results.tsv"), res)
    res.note("proxy harness summary:\n" + open(os.path.join(out, "summary.md")).read())


def autogroup_first(pid, secs=30.0):
    """With the kernel's sched_autogroup on, every session is its own scheduling group: the
    harness starts each pod and proxy with setsid, so each gets an equal share against every
    other session on the machine, and a busy machine (other builds and tests) sets the figures
    more than the proxies do. With BENCH_PROXY_PRIORITY=1, as root, give the harness's session
    and each session it starts autogroup nice -20 (polled for the first secs, while it starts
    them). Off by default: for the 2-3 minutes of the proxy part it starves everything else on
    both CPUs, which breaks other people's timing-sensitive tests. Returns how many it raised."""
    if os.environ.get("BENCH_PROXY_PRIORITY", "0") != "1" or os.geteuid() != 0 or \
            not os.path.exists("/proc/%d/autogroup" % pid):
        return 0
    raised, end = set(), time.monotonic() + secs
    while time.monotonic() < end:
        parent = {}
        for d in os.listdir("/proc"):
            try:
                if d.isdigit():
                    stat = open("/proc/%s/stat" % d).read()
                    parent[int(d)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
        for q in parent:
            r, hops = q, 0
            while r in parent and r != pid and r > 1 and hops < 64:
                r, hops = parent[r], hops + 1
            if r != pid or q in raised:
                continue
            try:
                with open("/proc/%d/autogroup" % q, "w") as f:
                    f.write("-20")
                raised.add(q)
            except OSError:
                pass
        if subprocess_done(pid):
            break
        time.sleep(0.5)
    return len(raised)


def subprocess_done(pid):
    try:
        return open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def run_harness(cmd, secs):
    """Runs the harness in its own session. On timeout it gets SIGTERM first, so its own trap
    stops the pods and proxies it started (by their PIDs); its process group is killed last."""
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin")
    errf = tempfile.TemporaryFile()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf, env=env,
                         start_new_session=True)
    raised = autogroup_first(p.pid)
    try:
        rc = p.wait(timeout=secs)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        rc = "timeout after %ds" % secs
    errf.seek(0)
    return rc, errf.read().decode(errors="replace"), raised


def proxy_figures(tsv, res):
    rows = [line.rstrip("\n").split("\t") for line in open(tsv)]
    head, rows = rows[0], rows[1:]
    col = {k: i for i, k in enumerate(head)}

    def med(name, key):
        # results.tsv names the proxy under test by its role, "candidate".
        target = "candidate" if name == "kroll" else name
        xs = [float(r[col[key]]) for r in rows if r[col["target"]] == target and
              r[col[key]] not in ("NA", "")]
        if not xs:
            raise BenchError("proxy harness: no %s figure for %s" % (key, name))
        return percentile(xs, 50)
    for t in ("nginx", "haproxy", "kroll"):
        res.add("proxy.%s.rps" % t, med(t, "rps"), "req/s", "%s, median over rounds" % t)
        res.add("proxy.%s.p99" % t, med(t, "p99_us") / 1000.0, "ms", "%s p99 latency" % t)
        res.add("proxy.%s.cpu_per_req" % t, med(t, "proxy_cpu_us_per_req"), "us",
                "%s CPU per request (its pinned CPUs)" % t)
    for t in ("nginx", "haproxy"):
        res.add("proxy.kroll_vs_%s.rps" % t, med("kroll", "rps") / med(t, "rps"), "x",
                "kroll req/s / %s req/s (same run)" % t)
    res.add("proxy.kroll.busy", med("kroll", "proxy_busy_pct"), "%", "how busy kroll's CPU was")
