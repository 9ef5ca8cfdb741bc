"""The `metrics` part of `make bench`: what the node's resource metrics sampler (metrics.k8s.io,
`kroll server --metric-resolution`) costs the server process.

N quiet pods (one container each, a `sleep`, no probes) run on one data dir. The server is
restarted on it (SIGTERM to its PID: the pods stay up under their shims and are adopted) with
`--metric-resolution 1s` and with `--metric-resolution 0` (no sampler), in turns, and each time,
after a settling pause, the server process's CPU time (all its threads, the sampler's helper
threads included: see CpuMeter) is read over a fixed window. The
difference of the two, divided by the passes in the window, is the cost of one sampling pass;
at the default 10 s period that pass is paid once every 10 s.
"""
import json
import os
import subprocess
import time

from kbench import BenchError, Client, Server, median, wait_until

NS = "bench-metrics"
IMAGE = "bench/idle:1"  # a tag: pull policy IfNotPresent, so no registry is asked
SETTLE_S = 5  # after a start: the informers' first lists, the pods' adoption, the first passes


CPUACCT = "/sys/fs/cgroup/cpuacct"  # cgroup v1: cpuacct.usage in ns


def cpu_ticks(pid):
    """utime + stime of a whole process (all its threads), in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()  # after "pid (comm) "; field 3 is fields[0]
    return int(fields[11]) + int(fields[12])


class CpuMeter:
    """The server's CPU seconds. /proc/PID/stat counts in 10 ms ticks, too coarse for a pass of
    about a millisecond; where cgroup v1's cpuacct is mounted the server (all its threads) is
    moved into a cpuacct group of its own, named by its PID, whose usage is in ns. remove()
    moves anything left there back to the root group and removes it (by that exact path)."""

    def __init__(self, pid):
        self.pid, self.dir = pid, None
        if not os.path.isfile(os.path.join(CPUACCT, "cpuacct.usage")):
            return
        d = os.path.join(CPUACCT, "kroll-bench-%d" % pid)
        try:
            os.mkdir(d)
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write("%d\n" % pid)
            self.dir = d
        except OSError:
            self.dir = d if os.path.isdir(d) else None
            self.remove()

    def method(self):
        return "cpuacct.usage (ns)" if self.dir else "/proc/PID/stat (10 ms ticks)"

    def seconds(self):
        if self.dir:
            with open(os.path.join(self.dir, "cpuacct.usage")) as f:
                return int(f.read()) / 1e9
        return cpu_ticks(self.pid) / float(os.sysconf("SC_CLK_TCK"))

    def remove(self):
        if not self.dir:
            return
        try:
            for line in open(os.path.join(self.dir, "cgroup.procs")).read().split():
                with open(os.path.join(CPUACCT, "cgroup.procs"), "w") as f:
                    f.write(line + "\n")
        except OSError:
            pass
        try:
            os.rmdir(self.dir)
        except OSError as e:
            raise BenchError("cannot remove %s: %s" % (self.dir, e))
        self.dir = None


def make_image(env):
    """A busybox-static root whose command is a long sleep, imported as IMAGE."""
    d = os.path.join(env["tmp"], "img-idle")
    mk = os.path.join(env["src"], "examples", "model-server", "mkrootfs.sh")
    subprocess.run(["sh", mk, d], check=True, timeout=120, stdout=subprocess.DEVNULL)
    # Relative: the process runtime runs in the image's directory, runc in its root.
    with open(os.path.join(d, "image.json"), "w") as f:
        json.dump({"Cmd": ["./bin/busybox", "sleep", "1000000"], "Env": ["PATH=/bin"]}, f)
    subprocess.run([env["kroll"], "image", "import", d, IMAGE, "--data-dir", env["data"]],
                   check=True, timeout=120, stdout=subprocess.DEVNULL)


def idle_pod(i):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "idle-%03d" % i, "labels": {"app": "bench-idle"}},
            "spec": {"terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": IMAGE}]}}


def all_running(cl, n):
    items = cl.json("GET", "/api/v1/namespaces/%s/pods" % NS)["items"]
    return len(items) == n and all(p.get("status", {}).get("phase") == "Running" and
                                   all(c.get("ready") for c in
                                       p["status"].get("containerStatuses", []))
                                   for p in items)


def window(env, res_flag, n, secs):
    """Starts a server with --metric-resolution res_flag on the data dir, checks the pods are
    still all running, waits SETTLE_S, and returns the server's CPU seconds over secs."""
    srv = Server(env["kroll"], env["data"], env["log"], ["--metric-resolution", res_flag])
    srv.start()
    meter = CpuMeter(srv.proc.pid)
    try:
        cl = Client(srv)
        wait_until(120, "%d pods Running after a restart" % n, lambda: all_running(cl, n), 0.5)
        cl.close()
        time.sleep(SETTLE_S)
        c0, t0 = meter.seconds(), time.monotonic()
        time.sleep(secs)
        c1, t1 = meter.seconds(), time.monotonic()
        how = meter.method()
    finally:
        srv.terminate()
        meter.remove()
    return c1 - c0, t1 - t0, how


def create_pods(env, n):
    srv = Server(env["kroll"], env["data"], env["log"], ["--metric-resolution", "0"])
    srv.start()
    try:
        cl = Client(srv)
        cl.request("POST", "/api/v1/namespaces",
                   {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
                   ok=(201, 409))
        wait_until(10, "ServiceAccount default", lambda: cl.request(
            "GET", "/api/v1/namespaces/%s/serviceaccounts/default" % NS, ok=None)[0] == 200, 0.1)
        for i in range(n):
            cl.request("POST", "/api/v1/namespaces/%s/pods" % NS, idle_pod(i))
        wait_until(60 + 6 * n, "%d pods Running" % n, lambda: all_running(cl, n), 0.5)
        cl.close()
    finally:
        srv.terminate()


def remove_pods(env):
    """Deletes the pods through a last server, then stops it and all it runs (kroll stop)."""
    srv = Server(env["kroll"], env["data"], env["log"], ["--metric-resolution", "0"])
    srv.start()
    try:
        cl = Client(srv)
        path = "/api/v1/namespaces/%s/pods" % NS
        for p in cl.json("GET", path)["items"]:
            cl.request("DELETE", "%s/%s" % (path, p["metadata"]["name"]), ok=(200, 202, 404))
        wait_until(180, "pods deleted", lambda: not cl.json("GET", path)["items"], 0.5)
        cl.close()
    finally:
        srv.stop()


def measure(env, cfg, res):
    n, secs, pairs = cfg["metric_pods"], cfg["metric_seconds"], cfg["metric_pairs"]
    if not (1 <= n <= 200 and 5 <= secs <= 600 and 1 <= pairs <= 10):
        raise BenchError("BENCH_METRIC_PODS 1..200, BENCH_METRIC_SECONDS 5..600, "
                         "BENCH_METRIC_PAIRS 1..10")
    os.makedirs(env["data"], exist_ok=True)
    make_image(env)
    create_pods(env, n)
    on, off, loads = [], [], []
    try:
        for i in range(pairs):
            # Alternate the order so a trend in the machine's load falls on both alike.
            for flag in (("1s", "0") if i % 2 == 0 else ("0", "1s")):
                cpu, took, how = window(env, flag, n, secs)
                (on if flag == "1s" else off).append(cpu / took)
                loads.append(float(open("/proc/loadavg").read().split()[0]))
    finally:
        remove_pods(env)
    report(res, n, secs, on, off, loads)
    res.note("metrics: server CPU read from %s; per window, CPU cores with 1s %s, off %s" % (
        how, " ".join("%.5f" % x for x in on), " ".join("%.5f" % x for x in off)))


def report(res, n, secs, on, off, loads):
    # CPU seconds per wall second with a pass every second, and without passes.
    per_pass = max(0.0, median(on) - median(off))  # CPU s per pass (one pass a second)
    res.add("metrics.server_cpu.1s", median(on) * 100.0, "%",
            "server CPU, --metric-resolution 1s, %d pods (median of %d x %d s)"
            % (n, len(on), secs))
    res.add("metrics.server_cpu.off", median(off) * 100.0, "%",
            "server CPU, --metric-resolution 0, same pods (median of %d)" % len(off))
    res.add("metrics.pass_cpu", per_pass * 1e6, "us",
            "server CPU per sampling pass of %d containers and the node" % n)
    res.add("metrics.container_cpu", per_pass * 1e6 / n, "us",
            "per container per pass (the node's reading included)")
    res.add("metrics.share_10s", per_pass / 10.0 * 100.0, "%",
            "share of one core at the default 10 s period, %d containers" % n)
    res.add("metrics.loadavg", median(loads), "", "1-min load average during the windows "
            "(a shared machine: the figures above carry its noise)")
    if median(on) <= median(off):
        res.note("metrics: no CPU difference measurable between 1s and off (%.4f vs %.4f "
                 "core); per-pass figures are 0" % (median(on), median(off)))
