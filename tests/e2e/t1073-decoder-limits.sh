#!/bin/bash
# t1073: what already held stays held (issue 10, item 3): the JSON and YAML decoders refuse deep
# nesting (JSON 400, YAML past 512 levels 413) and YAML aliases that explode ("billion laughs",
# 413), through POST with application/json and application/yaml and through an apply
# (application/apply-patch+yaml). The 15-byte YAML that crashed libfyaml 0.7.12 is a 400.
# Each refusal is a Status, nothing is stored, and the server keeps serving.
. "$(dirname "$0")/lib.sh"

kroll_start
cd "$TEST_DIR"
PY=/usr/bin/python3
CM=/api/v1/namespaces/default/configmaps
send() { # send METHOD PATH CONTENT-TYPE FILE -> http code, body in resp.json
    api_curl "$2" -X "$1" -H "Content-Type: $3" --data-binary "@$4" -o resp.json -w '%{http_code}'
}
is_status() { expect_eq "$(jq -r '.kind + " " + (.code|tostring)' resp.json)" "Status $1" "$2: Status $1"; }
before=$(api_curl $CM | jq '.items | length')

$PY -c 'print("{\"metadata\":{\"name\":\"deep\"},\"data\":" + "[" * 5000 + "]" * 5000 + "}")' >deep.json
expect_eq "$(send POST $CM application/json deep.json)" 400 "JSON nested 5000 deep: 400"
is_status 400 "deep JSON"
$PY -c '
d = 1000
print("metadata: {name: deep}\ndata: " + "[" * d + "]" * d)' >deep.yaml
# YAML_MAX_DEPTH: more than 512 nested collections is a 413 that names the limit.
expect_eq "$(send POST $CM application/yaml deep.yaml)" 413 "YAML nested 1000 deep: 413"
is_status 413 "deep YAML"
expect_match "$(jq -r .message resp.json)" 'depth limit of 512' "deep YAML: message names the limit"
expect_eq "$(send PATCH "$CM/deep?fieldManager=t" application/apply-patch+yaml deep.yaml)" 413 "apply of deep YAML: 413"

# libfyaml 0.7.12 dereferenced NULL after its own tab error on these 15 bytes: the server died
# ("Empty reply"). Now a 400 Status with the position, through both YAML paths.
printf ' : ? 1 : : T:\t:' >crash.yaml
expect_eq "$(send POST $CM application/yaml crash.yaml)" 400 "libfyaml crash input via POST: 400"
is_status 400 "crash input via POST"
expect_match "$(jq -r .message resp.json)" 'yaml: line 1, column' "crash input: message has the position"
expect_eq "$(api_curl /healthz)" "ok" "server still serving after the crash input"
expect_eq "$(send PATCH "$CM/crash?fieldManager=t" application/apply-patch+yaml crash.yaml)" 400 "libfyaml crash input via apply: 400"
is_status 400 "crash input via apply"

# Billion laughs: 9 levels of 10 aliases each expand to 10^9 values.
$PY -c '
print("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}")
print("x0: &a0 [lol]")
for i in range(1, 10):
    print("x%d: &a%d [%s]" % (i, i, ",".join(["*a%d" % (i - 1)] * 10)))' >laughs.yaml
expect_eq "$(send POST $CM application/yaml laughs.yaml)" 413 "billion laughs via POST: 413"
is_status 413 "billion laughs"
expect_match "$(jq -r .message resp.json)" '1000000' "billion laughs: message names the limit"
expect_eq "$(send PATCH "$CM/lol?fieldManager=t" application/apply-patch+yaml laughs.yaml)" 413 "billion laughs via apply: 413"

expect_eq "$(api_curl $CM | jq '.items | length')" "$before" "nothing stored"
expect_eq "$(api_curl /healthz)" "ok" "server still serving"
finish
