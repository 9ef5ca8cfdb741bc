#!/bin/bash
# t1072: no patch can build a huge or deep object inside the server (issue 10, item 2). A JSON
# patch of 18 "copy" ops that each double a subtree (the class of CVE-2019-1002100) and one that
# copies a deep value into its own deepest child are refused while they are applied; a merge
# patch, a strategic merge patch, an apply and a create over the object limit (1.5 MiB) are
# refused; each answer is a Status naming the limit, nothing is stored, the server keeps serving,
# and its peak RSS stays small.
. "$(dirname "$0")/lib.sh"

kroll_start
cd "$TEST_DIR"
PY=/usr/bin/python3
CM=/api/v1/namespaces/default/configmaps
patch() { # patch NAME CONTENT-TYPE FILE
    api_curl "$CM/$1?fieldManager=t1072" -X PATCH -H "Content-Type: $2" --data-binary "@$3" \
        -o resp.json -w '%{http_code}'
}
rv() { api_curl "$CM/$1" | jq -r .metadata.resourceVersion; }
hwm_mb() { awk '/^VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$KROLL_SERVER_PID/status"; }
status_ok() { # status_ok CODE REASON REGEX WHAT: the last answer is that Status
    expect_eq "$code" "$1" "$4: HTTP $1"
    expect_eq "$(jq -r '.kind + " " + .reason' resp.json)" "Status $2" "$4: Status reason $2"
    expect_match "$(jq -r .message resp.json)" "$3" "$4: message names the limit"
}

kubectl create configmap target --from-literal=a="$(head -c 1000 /dev/zero | tr '\0' x)" >/dev/null
rv0=$(rv target)
say "server peak RSS before: $(hwm_mb) MB"

# 18 copies, each doubling /data: unbounded this is 2^18 KB.
$PY -c '
import json
print(json.dumps([{"op": "copy", "from": "/data", "path": "/data/d%d" % i} for i in range(18)]))' >double.json
code=$(patch target application/json-patch+json double.json)
status_ok 413 RequestEntityTooLarge '1572864' "doubling copy patch"
expect_match "$(jq -r '.details.causes[0].reason' resp.json)" 'FieldValueTooLong' "doubling copy patch: cause"

# A deep value copied into its own deepest child 7 times: unbounded this is 300 * 2^7 levels.
$PY -c '
import json
v = "leaf"
for _ in range(300): v = {"k": v}
ops = [{"op": "add", "path": "/x", "value": v}]
d = 300
for _ in range(7):
    ops.append({"op": "copy", "from": "/x", "path": "/x" + "/k" * d}); d *= 2
print(json.dumps(ops))' >deep.json
code=$(patch target application/json-patch+json deep.json)
status_ok 422 Invalid 'nesting depth exceeds the limit of 2048' "deep copy patch"

# Merge patch and strategic merge patch that would make the object 2 MB.
$PY -c 'import json; print(json.dumps({"data": {"b": "y" * 2000000}}))' >big-merge.json
kubectl create configmap big --from-literal=a=x >/dev/null
rv1=$(rv big)
code=$(patch big application/merge-patch+json big-merge.json)
status_ok 413 RequestEntityTooLarge '1572864' "merge patch over the object limit"
code=$(patch big application/strategic-merge-patch+json big-merge.json)
status_ok 413 RequestEntityTooLarge '1572864' "strategic merge patch over the object limit"

# Server-side apply and create of a 1.6 MB object (the body itself is under the 3 MiB limit).
$PY -c '
print("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied}\ndata:\n  a: " + "z" * 1600000)' >big-apply.yaml
code=$(patch applied application/apply-patch+yaml big-apply.yaml)
status_ok 413 RequestEntityTooLarge '1572864' "apply of a too-big object"
$PY -c '
import json; print(json.dumps({"metadata": {"name": "created"}, "data": {"a": "z" * 1600000}}))' >big-create.json
code=$(api_curl "$CM" -X POST -H 'Content-Type: application/json' --data-binary @big-create.json \
    -o resp.json -w '%{http_code}')
status_ok 413 RequestEntityTooLarge '1572864' "create of a too-big object"

# Nothing stored: the targets are unchanged and the big ones do not exist.
expect_eq "$(rv target)" "$rv0" "target unchanged (resourceVersion)"
expect_eq "$(api_curl "$CM/target" | jq -r '.data | keys | join(",")')" "a" "target data unchanged"
expect_eq "$(rv big)" "$rv1" "big unchanged (resourceVersion)"
expect_eq "$(api_curl "$CM/applied" -o /dev/null -w '%{http_code}')" 404 "applied object not stored"
expect_eq "$(api_curl "$CM/created" -o /dev/null -w '%{http_code}')" 404 "created object not stored"

# Just under the limit still works (the limit is on the object, not a smaller guess).
$PY -c 'import json; print(json.dumps({"data": {"b": "y" * 900000}}))' >ok-merge.json
code=$(patch big application/merge-patch+json ok-merge.json)
expect_eq "$code" 200 "a 0.9 MB object is accepted"
expect_eq "$(api_curl /healthz)" "ok" "server still serving"
hwm=$(hwm_mb)
say "server peak RSS after: $hwm MB"
rss_bound $((hwm * 1024)) $((100 * 1024)) "server peak RSS"
finish
