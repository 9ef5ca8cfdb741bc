#!/usr/bin/env bash
# What `runc run --detach` alone costs on this machine, the floor under kroll's pod start:
#   tests/bench/runc-run.sh [RUNS]
# Builds a bundle in a temp dir (busybox-static root, `runc spec`'s default config running
# `sleep`, the host's network namespace, not a terminal), then times RUNS container starts one
# after the other, each `runc run --detach` to its exit (the container then runs), deleting each
# container after it is timed. Prints p50/p99 (p99 of 20 runs is the slowest).
set -u
N=${1:-20}
RUNC=${RUNC:-runc}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kroll-bench-runc.XXXXXX")
ROOT=$TMP/state
cleanup() {
    for id in $("$RUNC" --root "$ROOT" list -q 2>/dev/null); do
        "$RUNC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

mkdir -p "$TMP/bundle/rootfs/bin" "$ROOT"
cp /bin/busybox "$TMP/bundle/rootfs/bin/"
ln -s busybox "$TMP/bundle/rootfs/bin/sleep"
(cd "$TMP/bundle" && "$RUNC" spec) || exit 1
/usr/bin/python3 - "$TMP/bundle/config.json" <<'PY' || exit 1
import json, sys
c = json.load(open(sys.argv[1]))
c["process"].update(terminal=False, args=["/bin/sleep", "1000"])
c["root"]["readonly"] = False
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
json.dump(c, open(sys.argv[1], "w"))
PY
/usr/bin/python3 - "$RUNC" "$ROOT" "$TMP/bundle" "$N" <<'PY'
import subprocess, sys, time
runc, root, bundle, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ms = []
for i in range(n):
    cid = "bench%d" % i
    t = time.monotonic()
    # Not a pipe: the container inherits runc's stdout/stderr and would hold it open.
    with open(bundle + "/../runc.err", "w+") as err:
        r = subprocess.run([runc, "--root", root, "run", "--detach", "--bundle", bundle, cid],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        ms.append((time.monotonic() - t) * 1000)
        if r.returncode != 0:
            err.seek(0)
            sys.exit("runc run failed: " + err.read().strip())
    subprocess.run([runc, "--root", root, "delete", "--force", cid], check=True)
ms.sort()
pct = lambda p: ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))]
print("runc run --detach: %d runs p50 %.0f ms p99 %.0f ms" % (n, pct(50), pct(99)))
PY
