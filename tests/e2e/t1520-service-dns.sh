#!/usr/bin/env bash
# t1520: Services from inside pods (runc containers, each in its own network namespace): a
# busybox pod reaches Service web by its full DNS name, by the short name through the search
# path of the resolv.conf the kubelet wrote, and by cluster IP; `nslookup web` answers the
# cluster IP and an SRV query the named port; an unknown name fails at once (NXDOMAIN); a pod
# reaches a Service whose endpoint is itself (hairpin); a Service created after the pod is
# reachable too; a pod gets no listener on a port it declares (its own server binds *:port,
# which Linux refuses next to ours), others reach that Service; deleting the pods closes their
# listeners (the proxy's pod listener gauge).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/runc-lib.sh"
runc_skip_checks
kroll_start --runtime=runc
bbimage test/bb

cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: alt}
spec:
  selector: {app: web}
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-pod, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: test/bb
    imagePullPolicy: Never
    ports: [{containerPort: 8080}]
    command: ["sh", "-c"]
    args:
    - |
      sleep 1; httpd -p 8080 -h /www || echo "httpd failed"

      for i in $(seq 1 150); do r=$(timeout 2 wget -qO- http://web/ 2>&1) && break; sleep 0.2; done
      echo "hairpin: $r"
      trap "exit 0" TERM; while :; do sleep 1; done
Y
ip=$(kubectl get svc web -o jsonpath='{.spec.clusterIP}')
wait_running web-pod 60

cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: test/bb
    imagePullPolicy: Never
    command: ["sh", "-c"]
    args:
    - |
      for i in $(seq 1 150); do timeout 2 wget -qO- http://web.default.svc.cluster.local:80/ >/dev/null 2>&1 && break; sleep 0.2; done
      echo "fqdn: $(timeout 3 wget -qO- http://web.default.svc.cluster.local:80/)"
      echo "short: $(timeout 3 wget -qO- http://web/)"
      echo "ip: $(timeout 3 wget -qO- http://$WEB_SERVICE_HOST:80/)"
      echo "alt: $(timeout 3 wget -qO- http://alt:8080/)"
      nslookup web | sed 's/^/ns: /'
      nslookup kube-dns.kube-system.svc.cluster.local | sed 's/^/kdns: /'
      nslookup -type=SRV _http._tcp.web.default.svc.cluster.local | sed 's/^/srv: /'
      t0=$(date +%s); timeout 5 wget -qO- http://nosuch/ >/dev/null 2>&1; rc=$?
      echo "unknown: rc=$rc secs=$(( $(date +%s) - t0 ))"
      sed 's/^/resolv: /' /etc/resolv.conf
      echo "phase1 done"
      for i in $(seq 1 150); do r=$(timeout 2 wget -qO- http://web2/ 2>/dev/null) && break; sleep 0.2; done
      echo "late: $r"
      trap "exit 0" TERM; while :; do sleep 1; done
Y
wait_for 60 "the client ran its first checks" -- sh_eval 'kubectl logs client 2>/dev/null | grep -q "phase1 done"'
log=$(kubectl logs client)
expect_eq "$(echo "$log" | sed -n 's/^fqdn: //p')" "ok" "web.default.svc.cluster.local:80 answers from the pod"
expect_eq "$(echo "$log" | sed -n 's/^short: //p')" "ok" "http://web/ through the search path"
expect_eq "$(echo "$log" | sed -n 's/^ip: //p')" "ok" "http://<clusterIP>:80/"
expect_eq "$(echo "$log" | sed -n 's/^alt: //p')" "ok" "http://alt:8080/ (a port the web pod declares)"
echo "$log" | grep -q "^ns: Address:.* $ip\$\|^ns: Address: $ip\$" && pass "nslookup web answers $ip" ||
    fail "nslookup web: $(echo "$log" | grep '^ns:')"
echo "$log" | grep '^srv:' | grep -q '80 web.default.svc.cluster.local' && pass "SRV _http._tcp answers port 80" ||
    fail "SRV: $(echo "$log" | grep '^srv:')"
u=$(echo "$log" | sed -n 's/^unknown: //p')
case $u in "rc=1 secs="[0-2]) pass "an unknown name fails at once ($u)" ;; *) fail "unknown name: $u" ;; esac
expect_eq "$(echo "$log" | sed -n 's/^resolv: nameserver //p')" "127.77.0.10" "resolv.conf: the cluster DNS"
expect_eq "$(kubectl get svc -n kube-system kube-dns -o jsonpath='{.spec.clusterIP}')" 127.77.0.10 \
    "the DNS is shown as Service kube-system/kube-dns"
echo "$log" | grep -q "^kdns: Address: 127.77.0.10$" && pass "kube-dns.kube-system.svc.cluster.local resolves to 127.77.0.10" || fail "kube-dns: $(echo "$log" | grep "^kdns:")"
# svc_with_ip NAME IP: creates a Service asking for IP (kubectl create -f prints the API's causes).
svc_with_ip() {
    printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec: {clusterIP: "%s", ports: [{port: 80}]}\n' \
        "$1" "$2" | kubectl create -f - 2>&1
}
out=$(svc_with_ip taken 127.77.0.10) &&
    fail "127.77.0.10 was given to another Service" || pass "127.77.0.10 is refused to other Services"
expect_match "$out" 'spec.clusterIPs: Invalid value: .*127.77.0.10.*: failed to allocate IP 127.77.0.10: provided IP is reserved for the cluster DNS' \
    "the reserved-IP refusal names the IP"
out=$(svc_with_ip far 10.0.0.1)
expect_match "$out" 'failed to allocate IP 10.0.0.1: the provided IP \(10.0.0.1\) is not in the valid range' \
    "an IP outside 127.77.0.0/16 is refused"
out=$(svc_with_ip twice "$ip")
expect_match "$out" "failed to allocate IP $ip: provided IP is already allocated" \
    "a clusterIP in use is refused"
expect_eq "$(echo "$log" | sed -n 's/^resolv: search //p' | cut -d' ' -f1-3)" \
    "default.svc.cluster.local svc.cluster.local cluster.local" "resolv.conf: the search path"
expect_eq "$(echo "$log" | sed -n 's/^resolv: options //p')" "ndots:5" "resolv.conf: ndots:5"
# Over UDP and TCP (two pipelined queries on one connection), from the client's namespace.
cns=$(kubectl get pod client -o jsonpath='{.metadata.annotations.kroll\.dev/netns}')
q=$(nsenter --net="$cns" /usr/bin/python3 "$KROLL_SRC/tests/e2e/t1520-dnsq.py" web.default.svc.cluster.local 500 2>&1)
say "$(echo "$q" | grep '^udp:')"
expect_eq "$(echo "$q" | grep -c '^tcp: reply .* id 99 rcode 0 answers 1$')" 2 "DNS over TCP: two pipelined SRV queries answered"
wait_for 30 "the web pod reached its own Service (hairpin)" -- sh_eval 'kubectl logs web-pod | grep -q "^hairpin: ok"'
kubectl logs web-pod | grep -v "^hairpin: ok" | sed "s/^/web: /"
kubectl logs web-pod | grep -q "httpd failed" && fail "the web pod's httpd could not bind 8080"

# A Service created after the pods: its listener opens in every pod.
cat <<'Y' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: web2}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
Y
wait_for 40 "the client reached web2, created after it" -- sh_eval 'kubectl logs client | grep -q "^late: ok"'

# Listeners per pod: the gauge drops when a pod goes, to 0 when none is left.
admin=$(cat "$KROLL_DATA/run/proxy.admin")
gauge() { curl -s "http://$admin/metrics" | sed -n 's/^kroll_proxy_pod_listeners //p'; }
before=$(gauge)
# web-pod: web, web2 and default/kubernetes (not alt: it declares 8080, which its own httpd
# binds); client: all 4.
expect_eq "$before" 7 "pod listeners: 3 in the web pod (none on its own port 8080), 4 in the client"
kubectl delete pod client --wait=true >/dev/null
wait_for 20 "the client's listeners closed" -- sh_eval "test \"\$(gauge)\" = 3"
kubectl delete pod web-pod --wait=true >/dev/null
wait_for 20 "no pod listener left" -- sh_eval "test \"\$(gauge)\" = 0"
pods_gone
finish
