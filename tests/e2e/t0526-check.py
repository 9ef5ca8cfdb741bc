#!/usr/bin/python3
"""Checks for t0526-crash-rollout.sh: pods, ReplicaSets and processes after the kills.

usage: t0526-check.py pods|all TEST_DIR DATA_DIR   (reads TEST_DIR/{pods,rs,dep}.json)
  pods: exactly 4 non-terminating pods of the Deployment's current template, all Ready
  all:  the above, plus no duplicate pod, no ReplicaSet or pod without its owner, at most
        replicas+maxSurge live pods, every shim and container process under DATA_DIR
        belongs to a Pod object that exists, and every running pod has its shim.
Prints one line per problem and exits 1 if there is any.
"""
import json, math, os, sys

mode, tdir, data = sys.argv[1], sys.argv[2], os.path.realpath(sys.argv[3])
pods = json.load(open(os.path.join(tdir, "pods.json")))["items"]
rss = json.load(open(os.path.join(tdir, "rs.json")))["items"]
dep = json.load(open(os.path.join(tdir, "dep.json")))
bad = []
image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
replicas = dep["spec"].get("replicas", 1)
live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def ready(p):
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in p.get("status", {}).get("conditions", []))


cur = [r for r in rss if r["spec"]["template"]["spec"]["containers"][0]["image"] == image]
if len(cur) != 1:
    bad.append("%d ReplicaSets for the current image %s" % (len(cur), image))
else:
    h = cur[0]["metadata"]["labels"].get("pod-template-hash")
    mine = [p for p in live if p["metadata"]["labels"].get("pod-template-hash") == h]
    nready = sum(1 for p in mine if ready(p))
    if len(mine) != replicas or nready != replicas:
        bad.append("current template %s: %d live pods, %d ready, want %d" % (h, len(mine), nready, replicas))
if mode == "pods":
    print("\n".join(bad))
    sys.exit(1 if bad else 0)


def dups(vals):
    return sorted({v for v in vals if vals.count(v) > 1})


names = [p["metadata"]["name"] for p in pods]
uids = [p["metadata"]["uid"] for p in pods]
for what, vals in (("pod name", names), ("pod uid", uids),
                   ("ReplicaSet name", [r["metadata"]["name"] for r in rss]),
                   ("pod-template-hash", [r["metadata"]["labels"].get("pod-template-hash") for r in rss])):
    for d in dups(vals):
        bad.append("duplicate %s %s" % (what, d))

surge = dep["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", "25%")
if isinstance(surge, str):
    surge = math.ceil(replicas * int(surge.rstrip("%")) / 100)
if len(live) > replicas + surge:
    bad.append("%d non-terminating pods > replicas %d + maxSurge %d" % (len(live), replicas, surge))


def controller(o):
    refs = [r for r in o["metadata"].get("ownerReferences", []) if r.get("controller")]
    return refs[0] if len(refs) == 1 else None


rs_uid = {r["metadata"]["name"]: r["metadata"]["uid"] for r in rss}
for r in rss:
    c = controller(r)
    if not c or c["kind"] != "Deployment" or c["uid"] != dep["metadata"]["uid"]:
        bad.append("ReplicaSet %s has no Deployment owner: %s" % (r["metadata"]["name"], c))
for p in pods:
    c = controller(p)
    if not c or c["kind"] != "ReplicaSet" or rs_uid.get(c["name"]) != c["uid"]:
        bad.append("pod %s has no existing ReplicaSet owner: %s" % (p["metadata"]["name"], c))

# Processes: every `kroll shim --pod-dir DATA/pods/UID` must be a pod that exists, and every
# process running from DATA (containers) must descend from such a shim.
pod_uids = set(uids)
procs = {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        argv = open("/proc/%s/cmdline" % d, "rb").read().split(b"\0")
        stat = open("/proc/%s/stat" % d).read()
        cwd = os.readlink("/proc/%s/cwd" % d)
    except OSError:
        continue
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        continue
    procs[int(d)] = (int(stat.rsplit(")", 1)[1].split()[1]), [a.decode(errors="replace") for a in argv], cwd)

shims = {}
for pid, (_, argv, _) in procs.items():
    if "shim" in argv and "--pod-dir" in argv:
        pd = argv[argv.index("--pod-dir") + 1]
        if os.path.realpath(os.path.dirname(pd)) == os.path.join(data, "pods"):
            shims[pid] = os.path.basename(pd)
for pid, uid in shims.items():
    if uid not in pod_uids:
        bad.append("orphaned shim pid %d for pod uid %s (no such Pod)" % (pid, uid))
for dup in dups(list(shims.values())):
    bad.append("two shims for pod uid %s" % dup)
for p in live:
    if p.get("status", {}).get("phase") == "Running" and p["metadata"]["uid"] not in shims.values():
        bad.append("running pod %s has no shim" % p["metadata"]["name"])
nproc = 0
for pid, (ppid, argv, cwd) in procs.items():
    if pid in shims or not (cwd + "/").startswith(data + "/"):
        continue
    nproc += 1
    anc, seen = ppid, 0
    while anc in procs and anc not in shims and seen < 64:
        anc, seen = procs[anc][0], seen + 1
    if anc not in shims and "kroll" not in os.path.basename(argv[0]):
        bad.append("stray process %d %s (cwd %s) not under a pod's shim" % (pid, " ".join(argv)[:80], cwd))
print("\n".join(bad))
print("%d pods (%d live), %d ReplicaSets, %d shims, %d processes under the data dir, all owned"
      % (len(pods), len(live), len(rss), len(shims), nproc))
sys.exit(1 if bad else 0)
