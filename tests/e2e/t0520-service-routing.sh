#!/usr/bin/env bash
# Service data plane through `kroll proxy --data-dir` started by the server: traffic to a
# Service's clusterIP reaches only ready pods; NodePort on the node address; per-revision
# metrics; ports appear and disappear with the Service; `kroll stop` stops the proxy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
svc_setup

deploy web 2 1.0.3
# A pod with the Service's labels that never becomes ready: it must never get traffic.
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: never-ready, labels: {app: web}}
spec:
  containers:
  - name: server
    image: myrepo/tf-serving:1.0.3
    args: ["--rest_api_port=8501", "--model_name=classifier", "--model_base_path=/models/classifier"]
    env: [{name: FAIL_READY, value: "1"}, {name: MODEL_VERSION, value: "never-ready"}]
    readinessProbe:
      httpGet: {path: /v1/models/classifier, port: 8501}
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8501}]
Y
wait_for 40 "deployment ready" -- ready_n web 2
IP=$(svc_ip web)
NP=$(kubectl get svc web -o jsonpath='{.spec.ports[0].nodePort}')
expect_match "$IP" '^127\.77\.' "clusterIP from 127.77/16"
wait_for 10 "clusterIP answers" -- curl -sf -m 2 -o /dev/null "http://$IP/v1/models/classifier"

codes=""; vers=""
for _ in $(seq 1 40); do
    codes="$codes $(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$IP/v1/models/classifier")"
done
expect_eq "$(echo $codes | tr ' ' '\n' | sort -u | tr '\n' ' ')" "200 " "40 requests: all 200 (the not-ready pod gets none)"
for _ in $(seq 1 20); do vers="$vers $(version_of "http://$IP/v1/models/classifier")"; done
expect_eq "$(echo $vers | tr ' ' '\n' | sort -u | tr '\n' ' ')" "web-1.0.3 " "only the ready pods answered"
out=$(curl -s -m 3 -X POST -d '{"instances":[[5.1,3.5,1.4,0.2]]}' "http://$IP/v1/models/classifier:predict")
expect_match "$out" '"predictions"' "POST predict through the clusterIP"
expect_eq "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NP/v1/models/classifier")" 200 \
    "NodePort answers on the node address"

hash=$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')
[ -n "$hash" ] || hash=$(kubectl get pods -l app=web -o jsonpath='{.items[1].metadata.labels.pod-template-hash}')
m=$(metrics)
expect_match "$m" "kroll_proxy_requests_total\\{service=\"default/web:80\",endpoint=\"127\\.78\\.[0-9.]+:8501\",pod=\"default/web-[a-z0-9-]+\",revision=\"$hash\",code=\"2xx\"\\} [1-9]" \
    "metrics per service, endpoint, pod and revision"
expect_match "$m" "kroll_proxy_endpoint_ready\\{service=\"default/web:80\",[^}]*pod=\"default/never-ready\"[^}]*\\} 0" \
    "the not-ready pod is listed as not ready"

# A second port appears with the object; deleting the Service closes both.
kubectl patch svc web --type=json -p '[{"op":"add","path":"/spec/ports/-","value":{"name":"alt","port":8080,"targetPort":8501}}]' >/dev/null
wait_for 10 "new Service port is served" -- curl -sf -m 2 -o /dev/null "http://$IP:8080/v1/models/classifier"
kubectl delete svc web >/dev/null
gone() { ! curl -s -m 1 -o /dev/null "http://$IP:80/" && ! curl -s -m 1 -o /dev/null "http://$IP:8080/"; }
wait_for 10 "deleted Service: ports closed" -- gone

expect_rc 0 "kroll stop" -- "$KROLL_BIN" stop --data-dir "$KROLL_DATA"
expect_match "$(cat "$TEST_DIR/out")" "stopped proxy" "kroll stop stops the proxy"
expect_rc 1 "proxy process gone" -- proc_running "$PROXY_PID"
finish
