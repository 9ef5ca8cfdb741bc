#!/usr/bin/env bash
# t1330: the Gateway API in kroll's proxy (gateway.networking.k8s.io/v1): GatewayClass kroll,
# a Gateway's address and listener, HTTPRoute weights exact per request (1,000 requests at
# 20/80 over 20 connections), path (Exact, PathPrefix by element), method and header matches in
# the API's precedence, hostnames, 404 without a match, 500 for a missing backend,
# status.parents, and bad specs refused with 422 and field causes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
svc_setup

# --- API ---
expect_match "$(kubectl api-resources --api-group=gateway.networking.k8s.io --no-headers)" \
    "gateways +gtw +gateway.networking.k8s.io/v1 +true +Gateway" "discovery lists gateways (gtw)"
expect_match "$(kubectl get gatewayclass kroll)" "^NAME +CONTROLLER +ACCEPTED +AGE
kroll +kroll.dev/gateway-controller +True " "GatewayClass kroll, accepted"

deploy a 1 1.0.3
deploy b 1 1.0.4
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {selector: {app: a}, ports: [{name: http, port: 80, targetPort: 8501}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {selector: {app: b}, ports: [{name: http, port: 80, targetPort: 8501}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: kroll
  listeners: [{name: web, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: a, port: 80, weight: 20}, {name: b, port: 80, weight: 80}]
  - matches: [{path: {type: PathPrefix, value: /v1}, headers: [{name: x-canary, value: "yes"}]}]
    backendRefs: [{name: b, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /v1}, method: POST}]
    backendRefs: [{name: a, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: other}
spec:
  parentRefs: [{name: gw, sectionName: web}]
  hostnames: [svc.example]
  rules:
  - matches: [{path: {type: Exact, value: /healthz}}]
    backendRefs: [{name: a, port: 80}]
  - matches: [{path: {type: Exact, value: /missing}}]
    backendRefs: [{name: nosuch, port: 80}]
Y
wait_for 60 "backends ready" -- sh_eval 'ready_n a 1 && ready_n b 1'
GW=$(kubectl get gtw gw -o jsonpath='{.status.addresses[0].value}')
expect_match "$GW" '^127\.77\.' "the Gateway's address is a loopback cluster IP"
expect_match "$(kubectl get gtw gw)" "^NAME +CLASS +ADDRESS +PROGRAMMED +AGE
gw +kroll +$GW +True " "kubectl get gateway columns"
expect_match "$(kubectl get httproute other)" "^NAME +HOSTNAMES +AGE
other +svc.example " "kubectl get httproute columns"
expect_eq "$(kubectl get httproute split -o jsonpath='{.status.parents[0].controllerName}/{.status.parents[0].conditions[?(@.type=="Accepted")].status}/{.status.parents[0].conditions[?(@.type=="ResolvedRefs")].status}')" \
    "kroll.dev/gateway-controller/True/True" "status.parents: Accepted, ResolvedRefs"
expect_eq "$(kubectl get httproute other -o jsonpath='{.status.parents[0].conditions[?(@.type=="ResolvedRefs")].reason}')" \
    "BackendNotFound" "a missing backend Service: ResolvedRefs False"

U="http://$GW/v1/models/classifier"
wait_for 20 "the Gateway listener answers" -- sh_eval '[ -n "$(version_of "$U")" ]'

# N requests over C keep-alive connections; prints "a-count b-count other-count".
split_count() {
    /usr/bin/python3 - "$GW" "$1" "$2" <<'PY'
import http.client, sys
host, n, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cnt = {"a": 0, "b": 0, "?": 0}
for c in range(conns):
    h = http.client.HTTPConnection(host, 80, timeout=5)
    for _ in range(n // conns):
        h.request("GET", "/v1/models/classifier")
        r = h.getresponse(); r.read()
        v = r.getheader("X-Model-Version") or "?"
        cnt[v.split("-")[0] if v != "?" else "?"] += 1
    h.close()
print(cnt["a"], cnt["b"], cnt["?"])
PY
}
read -r na nb no <<<"$(split_count 1000 20)"
say "20/80 over 1000 requests: a=$na b=$nb failed=$no"
expect_eq "$no" "0" "1000 requests, none failed"
expect_eq "$([ "$na" -ge 195 ] && [ "$na" -le 205 ] && echo ok)" "ok" "weights 20/80 exact per request: a=$na of 1000 (200 +- 5)"

kubectl patch httproute split --type json \
    -p '[{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":50},{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":50}]' >/dev/null
wait_for 10 "new weights applied" -- sh_eval 'read -r x y z <<<"$(split_count 20 1)"; [ "$x" = 10 ]'
read -r na nb no <<<"$(split_count 1000 20)"
say "50/50 over 1000 requests: a=$na b=$nb"
expect_eq "$([ "$na" -ge 495 ] && [ "$na" -le 505 ] && echo ok)" "ok" "weights 50/50: a=$na of 1000"

# --- matches and precedence ---
vh() { curl -s -m 3 -o /dev/null -D - "$@" | tr -d '\r' | sed -n 's/^[Xx]-[Mm]odel-[Vv]ersion: *//p'; }
vers=""; for _ in 1 2 3 4 5 6; do vers="$vers $(vh -H 'x-canary: yes' "$U")"; done
expect_eq "$(echo $vers | tr ' ' '\n' | sort -u | tr '\n' ' ')" "b-1.0.4 " "a header match wins over the weighted rule: all to b"
vers=""; for _ in 1 2 3 4 5 6; do vers="$vers $(curl -s -m 3 -o /dev/null -D - -X POST -d '{"instances":[[1,2,3,4]]}' "$U:predict" | tr -d '\r' | sed -n 's/^X-Model-Version: //p')"; done
expect_eq "$(echo $vers | tr ' ' '\n' | sort -u | tr '\n' ' ')" "a-1.0.3 " "a method match wins: POST all to a"
expect_eq "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$GW/v1x")" "404" "PathPrefix /v1 does not match /v1x (404 from the proxy)"
expect_eq "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$GW/nothing")" "404" "no match: 404"
expect_eq "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$GW/healthz")" "404" "a hostname-bound route does not match another Host"
expect_eq "$(curl -s -m 3 -o /dev/null -w '%{http_code}' -H 'Host: svc.example' "http://$GW/healthz")" "200" "Exact /healthz with Host svc.example"
expect_eq "$(vh -H 'Host: svc.example:80' "http://$GW/healthz")" "a-1.0.3" "the Host's port is ignored"
expect_eq "$(curl -s -m 3 -o /dev/null -w '%{http_code}' -H 'Host: svc.example' "http://$GW/healthz/x")" "404" "Exact does not match a longer path"
expect_eq "$(curl -s -m 3 -o /dev/null -w '%{http_code}' -H 'Host: svc.example' "http://$GW/missing")" "500" "a missing backend Service: 500"

# --- a route removed, the Gateway removed ---
kubectl delete httproute split >/dev/null
wait_for 10 "deleted route: 404" -- sh_eval '[ "$(curl -s -m 3 -o /dev/null -w "%{http_code}" "$U")" = 404 ]'
kubectl delete gtw gw >/dev/null
wait_for 10 "deleted Gateway: its listener closes" -- sh_eval '! curl -s -m 2 -o /dev/null "http://$GW/"'

# --- bad specs: 422 with causes ---
out=$(kubectl apply -f - 2>&1 <<'Y'
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: Exact, value: "nope"}, method: FETCH, headers: [{name: x}]}]
    backendRefs: [{name: a, weight: 2000000}]
Y
)
expect_match "$out" 'The HTTPRoute "bad" is invalid' "bad HTTPRoute refused"
expect_match "$out" 'spec.rules\[0\].matches\[0\].path.value: Invalid value: "nope": value must be an absolute path' "cause: relative path"
expect_match "$out" 'spec.rules\[0\].matches\[0\].method: Unsupported value: "FETCH"' "cause: method"
expect_match "$out" 'spec.rules\[0\].matches\[0\].headers\[0\].value: Required value' "cause: header value"
expect_match "$out" 'spec.rules\[0\].backendRefs\[0\].port: Required value' "cause: backend port"
expect_match "$out" 'spec.rules\[0\].backendRefs\[0\].weight: Invalid value: 2000000' "cause: weight range"
out=$(kubectl apply -f - 2>&1 <<'Y'
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bad}
spec:
  listeners: [{name: web, port: 70000, protocol: HTTP}, {name: web, port: 81, protocol: SCTP}]
Y
)
expect_match "$out" 'spec.gatewayClassName: Required value' "Gateway: class required"
expect_match "$out" 'spec.listeners\[0\].port: Invalid value: 70000' "Gateway: port range"
expect_match "$out" 'spec.listeners\[1\].name: Duplicate value: "web"' "Gateway: listener names unique"
expect_match "$out" 'spec.listeners\[1\].protocol: Unsupported value: "SCTP"' "Gateway: protocol"
expect_match "$(api_curl /apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes -X POST \
    -H 'Content-Type: application/json' -d '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"r"},"spec":{"rules":[{"matches":[{"path":{"type":"RegularExpression","value":"/a.*"}}]}]}}' -w ' %{http_code}')" \
    '"code":422.* 422$' "RegularExpression paths are refused by name (422)"
finish
