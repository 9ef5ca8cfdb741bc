#!/bin/bash
# t1070: hostile input never hurts the server: malformed and wrongly-typed JSON, deep nesting,
# huge bodies (413), garbage bytes instead of HTTP or TLS, slow clients holding connections
# open, and 1000 concurrent connections. Every refusal is a Kubernetes Status, nothing invalid
# is stored, and the server keeps answering throughout.
. "$(dirname "$0")/lib.sh"

kroll_start
cd "$TEST_DIR"
CM=/api/v1/namespaces/default/configmaps
post() { local p=$1 b=$2; shift 2; api_curl "$p" -X POST -H 'Content-Type: application/json' --data-binary "$b" -w ' %{http_code}' "$@"; }
alive() { expect_eq "$(api_curl /healthz)" "ok" "server still serving after $1"; }
count_cms() { api_curl $CM | jq '.items | length'; }
before=$(count_cms)

expect_match "$(post $CM '{"metadata":{"name":"x"')" '"kind":"Status".*"reason":"BadRequest".* 400$' "truncated JSON: 400 Status"
expect_match "$(post $CM 'not json at all')" '"code":400.* 400$' "non-JSON body"
expect_match "$(post $CM '[1,2,3]')" '"code":400.* 400$' "JSON array body"
expect_match "$(post $CM '"str"')" '"code":400.* 400$' "JSON string body"
expect_match "$(post $CM '{"metadata":"x"}')" '"kind":"Status".* (400|422)$' "metadata of the wrong type"
expect_match "$(post $CM '{"metadata":{"name":5}}')" '"kind":"Status".* (400|422)$' "name of the wrong type"
expect_match "$(post $CM '{"metadata":{"name":"x","labels":{"a":{"b":1}}}}')" '"kind":"Status".* (400|422)$' "label of the wrong type"
expect_match "$(post $CM '{"metadata":{"name":"x","a":1,"a":2}}')" '"kind":"Status".* 400$' "duplicate keys"
expect_match "$(post /apis/apps/v1/namespaces/default/deployments '{"metadata":{"name":"d"},"spec":{"replicas":"many","template":7}}')" \
    '"kind":"Status".* (400|422)$' "deployment with wrong types"
expect_match "$(post /apis/apps/v1/namespaces/default/deployments '{"metadata":{"name":"d"},"spec":null}')" \
    '"kind":"Status".* (400|422)$' "deployment with null spec"
expect_match "$(post /api/v1/namespaces/default/pods '{"metadata":{"name":"p"},"spec":{"containers":[null,5,{"name":1}]}}')" \
    '"kind":"Status".* (400|422)$' "pod with garbage containers"
expect_match "$(post /api/v1/namespaces/default/services '{"metadata":{"name":"s"},"spec":{"ports":[{"port":"x"}],"clusterIP":7}}')" \
    '"kind":"Status".* (400|422)$' "service with garbage ports"
python3 -c 'print("["*100000 + "]"*100000)' >deep.json
expect_match "$(post $CM @deep.json)" '"code":400.* 400$' "deeply nested JSON"
printf '{"metadata":{"name":"bad\xff\xfe"}}' >utf.json
expect_match "$(post $CM @utf.json)" '"kind":"Status".* (400|422)$' "invalid UTF-8"
expect_match "$(api_curl $CM/x -X PATCH -H 'Content-Type: application/json-patch+json' -d '{"op":"add"}' -w ' %{http_code}')" \
    '"kind":"Status".* (400|404|422)$' "malformed JSON patch"
kubectl create cm target >/dev/null
for body in '[{"op":"add","path":"/data/a","value":1}]' '[{"op":"move","from":"/nope","path":"/data"}]' \
            '[{"op":"replace","path":"/metadata/name","value":"other"}]' '[{"op":"add","path":"/data/-","value":"x"}]'; do
    expect_match "$(api_curl $CM/target -X PATCH -H 'Content-Type: application/json-patch+json' -d "$body" -w ' %{http_code}')" \
        '"kind":"Status".* (400|409|422)$' "bad JSON patch $body"
done
expect_match "$(api_curl $CM/target -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' -d '{"data":{"$patch":"bogus"}}' -w ' %{http_code}')" \
    '"kind":"Status".* (400|422)$' "bad SMP directive"
expect_match "$(api_curl $CM/target -X PATCH -H 'Content-Type: application/apply-patch+yaml' -d $'a: [\n  - : :' -w ' %{http_code}' --url-query fieldManager=x)" \
    '"kind":"Status".* 400$' "bad apply YAML"
expect_match "$(api_curl "$CM?labelSelector=a%20in%20((" -w ' %{http_code}')" '"code":400.* 400$' "bad label selector"
expect_match "$(api_curl "$CM?fieldSelector=foo%3D%3D%3Dbar" -w ' %{http_code}')" '"code":400.* 400$' "bad field selector"
expect_match "$(api_curl "$CM?watch=true&resourceVersion=abc&timeoutSeconds=1" -N --max-time 4 -w ' %{http_code}')" '"kind":"Status"|ERROR|"code":400' \
    "watch with a non-numeric resourceVersion"
expect_eq "$(count_cms)" "$((before + 1))" "nothing invalid stored"
alive "bad JSON"

# huge bodies: 413 and the connection is dropped, not the server
head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' 'a' | sed 's/^/{"metadata":{"name":"huge"},"data":{"a":"/; s/$/"}}/' >huge.json
expect_match "$(post $CM @huge.json)" '413' "4 MiB body: 413"
alive "a huge body"

# garbage bytes: raw TCP (not TLS), and garbage inside TLS
head -c 5000 /dev/urandom | timeout 5 nc -q 1 127.0.0.1 "$KROLL_PORT" >/dev/null 2>&1
printf 'GARBAGE / HTTP/9.9\r\n\r\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:$KROLL_PORT >garbage.out 2>/dev/null
expect_match "$(cat garbage.out)" '400' "garbage request line inside TLS: 400"
printf 'GET /api HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:$KROLL_PORT >garbage2.out 2>/dev/null
expect_match "$(cat garbage2.out)" '400' "negative Content-Length: 400"
python3 - "$KROLL_PORT" <<'PY' >hdr.out 2>&1
import socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 400000 + b"\r\n\r\n")
try:
    print(s.recv(200).decode(errors="replace").split("\r\n")[0])
except Exception as e:
    print("closed", e)
PY
expect_match "$(tail -c 300 hdr.out)" '431|400|413|closed|EOF|reset|Broken' "400 KB header refused"
alive "garbage bytes"

# slow clients: 50 TLS connections that send half a request and stall
python3 - "$KROLL_PORT" <<'PY' &
import socket, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
socks = []
for i in range(50):
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5))
        s.sendall(b"GET /api HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    except Exception:
        pass
time.sleep(20)
PY
slow=$!
KROLL_PIDS="$KROLL_PIDS $slow"
sleep 2
start=$(date +%s%N)
expect_eq "$(kubectl get cm target -o name)" "configmap/target" "kubectl works while slow clients stall"
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ] && pass "no slowdown from stalled clients" || fail "kubectl took over 5s"
kill "$slow" 2>/dev/null

# 1000 concurrent connections
urls=$(for i in $(seq 1 1000); do printf 'url = "https://127.0.0.1:%s/api/v1/namespaces/default/configmaps/target"\noutput = "/dev/null"\n' "$KROLL_PORT"; done)
codes=$(curl -sS -Z --parallel-max 1000 --cacert "$KROLL_DATA/pki/ca.crt" -H "Authorization: Bearer $KROLL_TOKEN" \
    -K <(echo "$urls") -w '%{http_code}\n' --max-time 60 2>/dev/null | sort | uniq -c | tr -s ' ' | head -c 300)
expect_match "$codes" '^ ?1000 200$' "1000 concurrent requests all answered 200"
alive "1000 concurrent connections"
expect_eq "$(kubectl get cm target -o jsonpath='{.metadata.name}')" "target" "kubectl still works"
finish
