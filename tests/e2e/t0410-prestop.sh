#!/usr/bin/env bash
# Checklists 42 and 43: preStop time counts against the grace period. preStop sleep 3 + grace 6:
# SIGTERM ≈3 s after the delete. preStop sleep 8 + grace 4: SIGTERM at ≈4 s, SIGKILL ≈6 s
# (2 s minimum after SIGTERM). While terminating, the pod's endpoint is ready=false,
# terminating=true, serving=<readiness>.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
node_skip_checks
kroll_start
mkimage test/term 'trap "now >>$T/term-\$HOSTNAME; exit 0" TERM; while :; do sleep 0.2; done'
mkimage test/stubborn 'trap "now >>$T/term-\$HOSTNAME" TERM; while :; do sleep 0.2; done'
mkpod() { # name image prestop-seconds grace
    cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $1}}
spec:
  terminationGracePeriodSeconds: $4
  volumes: $TVOL
  containers:
  - name: main
    image: $2
    volumeMounts: $TMNT
    ports: [{containerPort: 80}]
    readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}
    lifecycle: {preStop: {sleep: {seconds: $3}}}
Y
}
mkpod short test/term 3 6
mkpod long test/stubborn 8 4
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Service
metadata: {name: short}
spec: {selector: {app: short}, ports: [{port: 80}]}
Y
wait_for 20 "pods Ready" -- sh_eval 'sh -c "[ \"\$(kubectl get pod short -o jsonpath='\''{.status.containerStatuses[0].ready}'\'')\" = true ] && [ \"\$(kubectl get pod long -o jsonpath='\''{.status.containerStatuses[0].ready}'\'')\" = true ]"'
IP=$(jp short '{.status.podIP}')
ep() { kubectl get endpointslices -l kubernetes.io/service-name=short \
    -o jsonpath="{range .items[*].endpoints[?(@.addresses[0]==\"$IP\")]}{.conditions.ready},{.conditions.serving},{.conditions.terminating}{end}"; }
epready() { [ "$(ep)" = "true,true,false" ]; }
wait_for 10 "endpoint ready before the delete" -- epready

T0=$(now_s)
kubectl delete pod short long --wait=false >/dev/null
T1=$(now_s)
epterm() { [ "$(ep)" = "false,true,true" ]; }
wait_for 3 "terminating endpoint: ready=false serving=true terminating=true" -- epterm
has() { [ -s "$TSHARE/term-$1" ]; }
wait_for 10 "short: SIGTERM after preStop" -- has short
expect_elapsed "$T0" "$T1" "$(head -n1 "$TSHARE/term-short")" 2.8 4 \
    "preStop sleep 3, grace 6: SIGTERM ≈3 s"
wait_for 10 "short gone after exiting on SIGTERM" -- gone short
wait_for 10 "long: SIGTERM at the grace deadline" -- has long
expect_elapsed "$T0" "$T1" "$(head -n1 "$TSHARE/term-long")" 3.8 5 \
    "preStop sleep 8, grace 4: SIGTERM ≈4 s"
wait_for 10 "long gone" -- gone long
expect_elapsed "$T0" "$T1" "$(now_s)" 5.8 8.5 "SIGKILL ≈6 s (2 s after SIGTERM), then the object is gone"
expect_match "$(events_of long)" 'Killing\|Stopping container main' "Killing event"
finish
