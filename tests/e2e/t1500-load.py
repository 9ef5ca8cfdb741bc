#!/usr/bin/python3
"""Load client for t1500: keep-alive GETs of the model's status through kroll's proxy from a few
threads until a stop file appears (or --max seconds pass). Every request is recorded with the
X-Config-Version that answered it; the summary (JSON on stdout) has the totals, the failures
(non-200 or a connection error) and, per config version, how many requests it answered and the
first and last time it did (seconds since start)."""
import argparse
import http.client
import json
import os
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--host", required=True)
ap.add_argument("--port", type=int, default=80)
ap.add_argument("--path", default="/v1/models/classifier")
ap.add_argument("--threads", type=int, default=4)
ap.add_argument("--stop", required=True, help="stop when this file exists")
ap.add_argument("--max", type=float, default=300)
a = ap.parse_args()

t0 = time.monotonic()
lock = threading.Lock()
stats = {"requests": 0, "failed": 0, "errors": [], "versions": {}}


def record(status, version, err=None):
    now = round(time.monotonic() - t0, 3)
    with lock:
        stats["requests"] += 1
        if status != 200:
            stats["failed"] += 1
            if len(stats["errors"]) < 20:
                stats["errors"].append({"t": now, "status": status, "error": err})
            return
        v = stats["versions"].setdefault(version or "", {"n": 0, "first": now, "last": now})
        v["n"] += 1
        v["last"] = now


def worker():
    conn = None
    while not os.path.exists(a.stop) and time.monotonic() - t0 < a.max:
        try:
            if conn is None:
                conn = http.client.HTTPConnection(a.host, a.port, timeout=5)
            conn.request("GET", a.path)
            r = conn.getresponse()
            r.read()
            record(r.status, r.getheader("X-Config-Version"))
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            record(0, None, "%s: %s" % (type(e).__name__, e))
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.05)
        time.sleep(0.01)


ts = [threading.Thread(target=worker) for _ in range(a.threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
stats["seconds"] = round(time.monotonic() - t0, 1)
print(json.dumps(stats))
