#!/usr/bin/env bash
# Readiness drives rotation: a pod whose readiness probe starts failing leaves the Service's
# rotation within a few probe periods, and comes back when it passes again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
svc_setup

for p in p1 p2; do
kubectl apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: $p, labels: {app: flip}}
spec:
  volumes: $TVOL
  containers:
  - name: server
    image: myrepo/tf-serving:1.0.3
    volumeMounts: $TMNT
    args: ["--rest_api_port=8501", "--model_name=classifier", "--model_base_path=/models/classifier"]
    env: [{name: MODEL_VERSION, value: "$p"}]
    readinessProbe:
      exec: {command: ["/bin/sh", "-c", "test ! -e $TSHARE/notready-$p"]}
      periodSeconds: 1
      failureThreshold: 1
Y
done
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Service
metadata: {name: flip}
spec:
  selector: {app: flip}
  ports: [{port: 80, targetPort: 8501}]
Y
both_ready() { [ "$(kubectl get pods -l app=flip -o jsonpath='{.items[*].status.conditions[?(@.type=="Ready")].status}')" = "True True" ]; }
wait_for 40 "both pods ready" -- both_ready
IP=$(svc_ip flip)
URL=http://$IP/v1/models/classifier
# answered_by N: the distinct pods that answered N requests
answered_by() { for _ in $(seq 1 "$1"); do version_of "$URL"; echo; done | sort -u | grep . | tr '\n' ' '; }
wait_for 10 "both pods get traffic" -- sh_eval 'test "$(answered_by 20)" = "p1 p2 "'

touch "$TSHARE/notready-p1"
t0=$(date +%s%N)
only_p2() { test "$(answered_by 10)" = "p2 "; }
wait_for 10 "p1 failing readiness leaves the rotation" -- only_p2
say "out of rotation after $(( ($(date +%s%N) - t0) / 1000000 )) ms (probe period 1 s)"
expect_eq "$(answered_by 30)" "p2 " "30 requests: only p2 answers"
expect_eq "$(kubectl get endpointslices -l kubernetes.io/service-name=flip -o jsonpath='{.items[0].endpoints[?(@.targetRef.name=="p1")].conditions.ready}')" \
    false "EndpointSlice says p1 not ready"
rm -f "$TSHARE/notready-p1"
wait_for 30 "p1 back in rotation when ready again" -- sh_eval 'test "$(answered_by 20)" = "p1 p2 "'
finish
