"""t1090's client: Debian's python3-kubernetes (the official client, which no one here wrote)
against kroll, as a user's script would use it. Prints "ok - what" or "FAIL - what" per check;
every wait is bounded. Arguments: KUBECONFIG DIR (DIR holds app.yaml)."""
import sys, threading, time
from kubernetes import client, config, utils, watch
from kubernetes.client.rest import ApiException

config.load_kube_config(config_file=sys.argv[1])
api = client.ApiClient()
v1, apps = client.CoreV1Api(api), client.AppsV1Api(api)
NS = "default"

def check(cond, what):
    print(("ok - " if cond else "FAIL - ") + what, flush=True)

def wait(fn, what, timeout=90):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if fn():
                check(True, what)
                return True
        except ApiException:
            pass
        time.sleep(0.3)
    check(False, what + " (not within %d s)" % timeout)
    return False

def api_error(fn):
    try:
        fn()
    except ApiException as e:
        return e
    return None

# list
names = sorted(n.metadata.name for n in v1.list_namespace().items)
check(names == ["default", "kube-node-lease", "kube-public", "kube-system"], "list namespaces: %s" % names)

# watch: the client sends watch=True; events from a list's resourceVersion on, in order.
rv = v1.list_namespaced_config_map(NS).metadata.resource_version
seen = []
def watcher():
    w = watch.Watch()
    for ev in w.stream(v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=30):
        seen.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "DELETED":
            w.stop()
t = threading.Thread(target=watcher, daemon=True)
t.start()
time.sleep(0.5)
v1.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-cm"), data={"a": "1"}))
v1.patch_namespaced_config_map("py-cm", NS, {"data": {"a": "2"}})
v1.delete_namespaced_config_map("py-cm", NS)
t.join(35)
check(seen == [("ADDED", "py-cm"), ("MODIFIED", "py-cm"), ("DELETED", "py-cm")], "watch streams ADDED, MODIFIED, DELETED: %s" % seen)

# errors come back as ApiException with the Status
e = api_error(lambda: v1.read_namespaced_config_map("nosuch", NS))
check(e is not None and e.status == 404 and '"reason":"NotFound"' in e.body.replace(" ", ""), "read of a missing object: 404 NotFound")
e = api_error(lambda: v1.create_namespaced_config_map(NS, {"metadata": {"name": "Bad_Name"}}))
check(e is not None and e.status == 422 and "metadata.name" in e.body, "invalid name: 422 naming metadata.name")

# create from YAML (a Deployment and a Service), then wait for it through the status subresource
objs = utils.create_from_yaml(api, sys.argv[2] + "/app.yaml", namespace=NS)
check(len(objs) == 2, "create_from_yaml created %d objects" % len(objs))
ok = wait(lambda: (apps.read_namespaced_deployment_status("py-app", NS).status.available_replicas or 0) == 2,
          "read_namespaced_deployment_status: 2 available")
st = apps.read_namespaced_deployment_status("py-app", NS)
check(st.status.observed_generation == st.metadata.generation, "observedGeneration %s = generation" % st.status.observed_generation)

# patch: the spec (the client's default patch type for a dict) and the scale subresource
apps.patch_namespaced_deployment("py-app", NS, {"metadata": {"labels": {"patched": "yes"}}})
check(apps.read_namespaced_deployment("py-app", NS).metadata.labels.get("patched") == "yes", "patch sets a label")
apps.patch_namespaced_deployment_scale("py-app", NS, {"spec": {"replicas": 3}})
wait(lambda: (apps.read_namespaced_deployment_status("py-app", NS).status.ready_replicas or 0) == 3,
     "patch of the scale subresource: 3 ready")
sel = "app=py-app"
pods = v1.list_namespaced_pod(NS, label_selector=sel).items
check(len(pods) == 3 and all(p.status.phase == "Running" for p in pods), "list with a label selector: 3 Running pods")

# logs: whole, tail, and follow (the client sends follow=True)
pod = pods[0].metadata.name
wait(lambda: "hello from py-app" in v1.read_namespaced_pod_log(pod, NS), "read_namespaced_pod_log")
tail = v1.read_namespaced_pod_log(pod, NS, tail_lines=1)
check(tail.count("\n") == 1, "tail_lines=1 gives one line: %r" % tail)
r = v1.read_namespaced_pod_log(pod, NS, follow=True, _preload_content=False, _request_timeout=30)
got, end = b"", time.time() + 20
for chunk in r.stream(64):
    got += chunk
    if got.count(b"tick") >= 8 or time.time() > end:
        break
r.release_conn()
check(got.count(b"tick") >= 8, "follow=True keeps streaming (%d ticks)" % got.count(b"tick"))
e = api_error(lambda: v1.read_namespaced_pod_log(pod, NS, tail_lines=-1))
check(e is not None and e.status == 422 and "tailLines" in e.body, "tail_lines=-1: 422 naming tailLines")

# delete with DeleteOptions in the body; the garbage collector takes the pods
apps.delete_namespaced_deployment("py-app", NS, body=client.V1DeleteOptions(propagation_policy="Foreground"))
v1.delete_namespaced_service("py-app", NS)
wait(lambda: not v1.list_namespaced_pod(NS, label_selector=sel).items, "delete: the Deployment's pods are gone")
wait(lambda: not apps.list_namespaced_deployment(NS).items, "no Deployment left")
