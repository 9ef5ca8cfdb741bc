"""`make bench`: measures a kroll build from the outside (it changes nothing in kroll) and prints
a table and writes a JSON file of the figures with the machine they were taken on.

Parts (BENCH_PARTS, comma list; default all): start, api, watch, pods, rollout, proxy, metrics.
BENCH_QUICK=1 takes fewer samples; BENCH_PODS, BENCH_SAMPLES, BENCH_WATCHERS, BENCH_WRITES,
BENCH_POD_STARTS, BENCH_METRIC_PODS, BENCH_METRIC_SECONDS, BENCH_METRIC_PAIRS override the
counts. Run through tests/bench/run.sh (or `make bench`).
"""
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbench import BenchError, Client, Server, median, percentile, rss_kib  # noqa: E402
import metrics_part  # noqa: E402
import parts  # noqa: E402

ALL_PARTS = ["start", "api", "watch", "pods", "rollout", "proxy", "metrics"]


def config():
    quick = os.environ.get("BENCH_QUICK") == "1"

    def knob(name, full, fast):
        return int(os.environ.get(name, fast if quick else full))
    return {
        "quick": quick,
        "starts": knob("BENCH_STARTS", 7, 3),
        "pods": knob("BENCH_PODS", 1000, 1000),
        "samples": knob("BENCH_SAMPLES", 300, 30),
        "list_samples": knob("BENCH_LIST_SAMPLES", 30, 5),
        "watchers": knob("BENCH_WATCHERS", 100, 100),
        "writes": knob("BENCH_WRITES", 50, 10),
        "pod_starts": knob("BENCH_POD_STARTS", 20, 5),
        "rollout_replicas": knob("BENCH_ROLLOUT_REPLICAS", 4, 2),
        "proxy_rounds": knob("BENCH_PROXY_ROUNDS", 5, 1),
        "proxy_seconds": knob("BENCH_PROXY_SECONDS", 5, 3),
        "metric_pods": knob("BENCH_METRIC_PODS", 20, 20),
        "metric_seconds": knob("BENCH_METRIC_SECONDS", 30, 30),
        "metric_pairs": knob("BENCH_METRIC_PAIRS", 3, 1),
    }


def machine(src):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "-C", src, "rev-parse", "--short=12", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", src, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        commit += "-dirty" if dirty else ""
    except (OSError, subprocess.TimeoutExpired):
        commit = "unknown"
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commit": commit,
            "loadavg_start": open("/proc/loadavg").read().split()[:3]}


class Results:
    def __init__(self):
        self.figures = {}
        self.notes = []

    def add(self, name, value, unit, what):
        self.figures[name] = {"value": round(value, 3), "unit": unit, "what": what}

    def lat(self, name, ms, what):
        """p50 and p99 of a list of millisecond samples."""
        self.add(name + ".p50", percentile(ms, 50), "ms", what + ", median of %d" % len(ms))
        self.add(name + ".p99", percentile(ms, 99), "ms", what + ", p99 of %d" % len(ms))

    def note(self, text):
        self.notes.append(text)
        print("bench: " + text, flush=True)

    def table(self):
        w = max([len(k) for k in self.figures] + [6])
        lines = ["%-*s %12s  %-6s %s" % (w, "figure", "value", "unit", "what")]
        for k, f in self.figures.items():
            lines.append("%-*s %12s  %-6s %s" % (w, k, fmt(f["value"]), f["unit"], f["what"]))
        return "\n".join(lines)


def fmt(v):
    if isinstance(v, float) and abs(v) < 100:
        return "%.2f" % v
    return "%.0f" % v


def part_start(env, cfg, res):
    """Start to ready: one start on an empty data dir (keys, database), then restarts on it."""
    times = []
    for i in range(cfg["starts"]):
        srv = Server(env["kroll"], env["data"], env["log"])
        try:
            times.append(srv.start())
            srv.proxy_pid()  # let the proxy come up too, so the next start is not disturbed
        finally:
            srv.stop()
    res.add("start.cold", times[0], "ms", "server start to ready, empty data dir (keys, schema)")
    warm = times[1:] or times
    res.add("start.ready", median(warm), "ms", "server start to ready, median of %d restarts"
            % len(warm))
    res.add("start.ready.max", max(warm), "ms", "slowest of those restarts")


def idle_rss(srv, res):
    time.sleep(3)  # let the controllers' first sync and the proxy's first list finish
    res.add("rss.server", rss_kib(srv.proc.pid) / 1024.0, "MiB", "server RSS, idle, empty")
    proxy = srv.proxy_pid()
    if proxy:
        res.add("rss.proxy", rss_kib(proxy) / 1024.0, "MiB", "proxy RSS, idle, no Services")
    else:
        res.note("the server did not start a proxy (no network namespaces?): no proxy RSS")


def import_images(env, res):
    images = os.path.join(env["build"], "examples", "images")
    for v in ("1.0.3", "1.0.4"):
        d = os.path.join(images, "tf-serving-" + v)
        if not os.path.isdir(d):
            res.note("no model-server images in %s: skipping pods and rollout" % images)
            return False
        subprocess.run([env["kroll"], "image", "import", d, "myrepo/tf-serving:" + v,
                        "--data-dir", env["data"]], check=True, timeout=120,
                       stdout=subprocess.DEVNULL)
    return True


def netns_ok():
    try:
        return subprocess.run(["unshare", "-n", "true"], timeout=10,
                              stderr=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def timed_part(name, fn, *args):
    t0 = time.monotonic()
    fn(*args)
    print("bench: %s done in %.0f s (load %s)" % (name, time.monotonic() - t0,
                                                 open("/proc/loadavg").read().split()[0]),
          flush=True)


def run_server_parts(env, cfg, want, res):
    srv = Server(env["kroll"], env["data"], env["log"])
    srv.start()
    try:
        idle_rss(srv, res)
        cl = Client(srv)
        if "api" in want:
            timed_part("api", parts.api, srv, cl, cfg, res)
            res.add("rss.server.loaded", rss_kib(srv.proc.pid) / 1024.0, "MiB",
                    "server RSS with the stored pods")
        if "watch" in want:
            timed_part("watch", parts.watch, srv, cl, cfg, res)
        if "pods" in want and env["images"]:
            timed_part("pods", parts.pod_start, srv, cl, cfg, res)
        if "rollout" in want and env["images"]:
            timed_part("rollout", parts.rollout, srv, cl, cfg, res)
        if "api" in want:
            parts.check_stored_pending(cl, cfg, res)
        cl.close()
    finally:
        srv.stop()


def main():
    src = os.environ.get("KROLL_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                                     "..", ".."))
    build = os.environ.get("KROLL_BUILD") or os.path.join(src, "build")
    out = os.environ.get("BENCH_OUT") or os.path.join(build, "bench.json")
    want = [p for p in os.environ.get("BENCH_PARTS", ",".join(ALL_PARTS)).split(",") if p]
    bad = [p for p in want if p not in ALL_PARTS]
    if bad:
        print("bench: unknown part(s) %s; parts are %s" % (bad, ",".join(ALL_PARTS)))
        return 2
    cfg = config()
    res = Results()
    tmp = tempfile.mkdtemp(prefix="kroll-bench.")
    env = {"kroll": os.environ.get("KROLL_BIN") or os.path.join(build, "kroll"), "build": build,
           "src": src, "data": os.path.join(tmp, "data"), "log": os.path.join(tmp, "server.log"),
           "tmp": tmp, "images": False}
    mach = machine(src)
    t0 = time.monotonic()
    rc = 0
    try:
        print("bench: %s, %d CPUs, kernel %s, commit %s, load %s" % (
            mach["cpu"], mach["nproc"], mach["kernel"], mach["commit"],
            " ".join(mach["loadavg_start"])), flush=True)
        if ("pods" in want or "rollout" in want):
            if not netns_ok():
                res.note("no network namespaces here: skipping pods and rollout")
            else:
                os.makedirs(env["data"], exist_ok=True)
                env["images"] = import_images(env, res)
        if "start" in want:
            timed_part("start", part_start, env, cfg, res)
        if set(want) & {"api", "watch", "pods", "rollout"}:
            run_server_parts(env, cfg, want, res)
        if "proxy" in want:
            timed_part("proxy", parts.proxy, env, cfg, res)
        if "metrics" in want:
            if not netns_ok():
                res.note("no network namespaces here: skipping metrics")
            else:  # a data dir of its own: its pods only
                menv = dict(env, data=os.path.join(tmp, "metrics-data"))
                timed_part("metrics", metrics_part.measure, menv, cfg, res)
    except (BenchError, OSError, subprocess.SubprocessError) as e:
        res.note("FAILED: %s" % e)
        rc = 1
        if os.path.isfile(env["log"]):
            print("---- server log (last 30 lines) ----\n" +
                  "".join(open(env["log"], errors="replace").readlines()[-30:]))
    mach["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    doc = {"machine": mach, "config": cfg, "parts": want, "figures": res.figures,
           "notes": res.notes, "seconds": round(time.monotonic() - t0, 1)}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(out + ".tmp", out)
    print(res.table())
    print("bench: %.0f s, load average at the end %s; written to %s" % (
        doc["seconds"], " ".join(mach["loadavg_end"]), out))
    if os.environ.get("BENCH_KEEP") != "1":
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    random.seed(12)
    sys.exit(main())
