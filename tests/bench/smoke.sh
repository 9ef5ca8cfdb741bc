#!/bin/sh
# CTest bench/smoke: the cheap parts of `make bench` at toy sizes (50 pods, 5 samples, 20
# watchers), so the tool cannot rot: it must finish, write well-formed JSON with the machine,
# and every figure of those parts must be present and positive. Figures here mean nothing.
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kroll-bench-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
[ -x "$py" ] || py=python3
BENCH_QUICK=1 BENCH_PARTS=start,api,watch BENCH_STARTS=2 BENCH_PODS=50 BENCH_SAMPLES=5 \
    BENCH_LIST_SAMPLES=3 BENCH_WATCHERS=20 BENCH_WRITES=5 BENCH_OUT="$tmp/bench.json" \
    "$here/run.sh" || { echo "bench-smoke: FAIL - the bench exited non-zero"; exit 1; }
"$py" - "$tmp/bench.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
want = ["start.cold", "start.ready", "start.ready.max", "rss.server", "api.store_rate",
        "api.version.p50", "api.version.p99", "api.client_cpu", "api.get.p50", "api.get.p99",
        "api.list.p50", "api.list.p99", "api.list.bytes", "api.list.client_cpu", "api.patch.p50",
        "api.patch.p99", "api.create.p50", "api.create.p99", "rss.server.loaded",
        "watch.fanout.p50", "watch.fanout.p99", "watch.fanout.first.p50"]
fails = []
for k in ("nproc", "cpu", "kernel", "date", "commit"):
    if not doc["machine"].get(k):
        fails.append("machine." + k + " missing")
for k in want:
    f = doc["figures"].get(k)
    if not f or not isinstance(f["value"], (int, float)) or f["value"] <= 0 or not f["unit"]:
        fails.append("figure %s missing or not positive: %s" % (k, f))
if doc["figures"]["api.list.bytes"]["value"] < 50 * 200:
    fails.append("LIST of 50 pods is implausibly small")
if any(n.startswith("FAILED") for n in doc["notes"]):
    fails.append("the bench noted a failure")
for m in fails:
    print("bench-smoke: FAIL - " + m)
print("bench-smoke: %d figures checked, %d failed" % (len(want), len(fails)))
sys.exit(1 if fails else 0)
PY
