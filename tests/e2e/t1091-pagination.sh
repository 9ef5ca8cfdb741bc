#!/bin/bash
# t1091: list pagination across 2,000 objects, as kube-apiserver pages: limit/continue with
# remainingItemCount, every page at the first page's revision even while objects change
# between pages, kubectl --chunk-size and the Python client following continue to the same
# 2,000 names, 410 Expired (with a token to go on) once the watch history no longer reaches
# the first page's revision, and 400/422 for a bad token or options that cannot go with one.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
$PY -c 'import kubernetes' 2>/dev/null ||
    { say "SKIP: python3-kubernetes missing (scripts/install-deps.sh --test)"; exit 0; }

# A short watch history (KROLL_WATCH_CACHE events), so the test can outrun it.
KROLL_WATCH_CACHE=3000 kroll_start
kubectl create namespace pg >/dev/null
CM=/api/v1/namespaces/pg/configmaps
timeout 300 $PY - "$KUBECONFIG" <<'PYEOF' || fail "creating 2,000 ConfigMaps"
import sys
from concurrent.futures import ThreadPoolExecutor
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
def mk(i):
    v1.create_namespaced_config_map("pg", {"metadata": {"name": "cm-%04d" % i, "labels": {"odd": str(i % 2)}}, "data": {"i": str(i)}})
with ThreadPoolExecutor(8) as ex:
    list(ex.map(mk, range(2000)))
PYEOF
# Every namespace also holds kube-root-ca.crt (issue 15), as on a cluster: 2,001 in all.
expect_eq "$(api_curl "$CM" | jq '.items | length')" "2001" "2,000 ConfigMaps stored (and kube-root-ca.crt)"

p1=$(api_curl "$CM?limit=500")
rv1=$(jq -r .metadata.resourceVersion <<<"$p1")
tok=$(jq -r .metadata.continue <<<"$p1")
expect_eq "$(jq '.items | length' <<<"$p1")" "500" "limit=500: 500 items"
expect_eq "$(jq -r .metadata.remainingItemCount <<<"$p1")" "1501" "remainingItemCount 1501"
expect_eq "$(base64 -d 2>/dev/null <<<"${tok//-/+}==" | jq -r .v)" "meta.k8s.io/v1" "the token is upstream's shape"
# Change the collection between pages: the pages still show the first page's revision.
kubectl create configmap -n pg cm-0000a --from-literal=new=1 >/dev/null # sorts into page 1's range
kubectl create configmap -n pg zz-new --from-literal=new=1 >/dev/null   # sorts after all
kubectl delete configmap -n pg cm-1999 >/dev/null
kubectl label configmap -n pg cm-1500 changed=yes >/dev/null
names=$(jq -r '.items[].metadata.name' <<<"$p1")
rvs=""
while [ -n "$tok" ] && [ "$tok" != null ]; do
    pg=$(api_curl "$CM?limit=500&continue=$tok")
    names+=$'\n'$(jq -r '.items[].metadata.name' <<<"$pg")
    jq -r '.items[] | select(.metadata.name == "cm-1500") | .metadata.labels.changed // "none"' <<<"$pg" >>"$TEST_DIR/cm-1500"
    rvs+="$(jq -r .metadata.resourceVersion <<<"$pg") "
    tok=$(jq -r '.metadata.continue // empty' <<<"$pg")
done
expect_eq "$rvs" "$rv1 $rv1 $rv1 $rv1 " "four more pages, each at the first page's revision"
expect_eq "$(sort <<<"$names" | uniq | wc -l) $(wc -l <<<"$names")" "2001 2001" "2,001 names, none twice"
expect_match "$names" "cm-1999" "an object deleted between pages is still in the snapshot"
expect_eq "$(grep -c -e cm-0000a -e zz-new <<<"$names")" "0" "objects created between pages are not"
expect_eq "$(cat "$TEST_DIR/cm-1500")" "none" "a modified object shows its state at the snapshot"
out=$(api_curl "$CM?limit=700&labelSelector=odd%3D1")
expect_eq "$(jq -r '.items | length' <<<"$out") $(jq -r '.metadata.remainingItemCount // "absent"' <<<"$out")" \
    "700 absent" "with a selector: a full page, no remainingItemCount (as upstream)"

# Clients: kubectl --chunk-size follows continue; the Python client pages with limit/_continue.
expect_eq "$(kubectl get cm -n pg --chunk-size=300 -o name | grep -c '^configmap/cm-')" "2000" \
    "kubectl get --chunk-size=300 sees every object"
expect_match "$(kubectl get cm -n pg --chunk-size=300 -v=6 2>&1 >/dev/null | grep -c 'continue=')" '^[6-9]$' \
    "in pages (kubectl sent continue)"
got=$(timeout 120 $PY - "$KUBECONFIG" <<'PYEOF'
import sys
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
v1, n, cont, pages = client.CoreV1Api(), 0, None, 0
while True:
    r = v1.list_namespaced_config_map("pg", limit=250, _continue=cont)
    n, pages, cont = n + len(r.items), pages + 1, r.metadata._continue
    if not cont:
        break
print(n, pages)
PYEOF
)
expect_eq "$got" "2002 9" "the Python client pages through all 2,002"

# Past the watch history: 410 Expired with a token that goes on from the current state.
p1=$(api_curl "$CM?limit=1000")
tok=$(jq -r .metadata.continue <<<"$p1")
last=$(jq -r '.items[-1].metadata.name' <<<"$p1")
for i in $(seq 1 4); do kubectl label configmap -n pg --all "round=$i" --overwrite >/dev/null; done
out=$(api_curl "$CM?limit=1000&continue=$tok" -w ' %{http_code}')
expect_match "$out" 'The provided continue parameter is too old to display a consistent list result.*"reason":"Expired".* 410$' \
    "a token older than the watch history: 410 Expired"
tok2=$(jq -r .metadata.continue <<<"${out% 410}")
out=$(api_curl "$CM?limit=2000&continue=$tok2")
first=$(jq -r '.items[0].metadata.name' <<<"$out")
expect_eq "$([[ $first > $last ]] && echo after) $(jq '.items | length' <<<"$out")" "after 1002" \
    "its token lists the rest of the current state ($last, then $first...)"

expect_match "$(api_curl "$CM?limit=5&continue=bm9wZQ" -w ' %{http_code}')" 'continue key is not valid.* 400$' \
    "a bad token: 400"
expect_match "$(api_curl "$CM?limit=5&continue=$tok2&resourceVersion=7" -w ' %{http_code}')" \
    'specifying resource version is not allowed when using continue.* 400$' "continue with a resourceVersion: 400"
expect_match "$(api_curl "$CM?limit=5&continue=$tok2&resourceVersion=0" -w ' %{http_code}')" '"kind":"ConfigMapList".* 200$' \
    "continue with resourceVersion=0 (the informer pager's): accepted"
expect_match "$(api_curl "$CM?limit=5&continue=$tok2&resourceVersion=7&resourceVersionMatch=NotOlderThan" -w ' %{http_code}')" \
    'resourceVersionMatch is forbidden when continue is provided.* 422$' "continue with resourceVersionMatch: 422"
expect_match "$(api_curl "$CM?limit=x" -w ' %{http_code}')" 'parsing \\"x\\": invalid syntax.* 400$' "limit=x: 400"
finish
