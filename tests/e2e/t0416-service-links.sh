#!/bin/bash
# t0416: service link variables as the kubelet sets them: a pod started after a Service sees
# MODEL_SERVING_SERVICE_HOST/_PORT/_PORT_<NAME> and the docker-link MODEL_SERVING_PORT_* forms,
# can use them in $(VAR) of its own env, overrides them with env; with enableServiceLinks:
# false it gets none. (Reaching the cluster IP from inside a pod: t1520.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"
unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }

kroll_start
kubectl apply -f "$KROLL_SRC/examples/tutorial/service.yaml" >/dev/null
ip=$(kubectl get svc model-serving -o jsonpath='{.spec.clusterIP}')
mkimage test/client:1 'env | grep -e "^MODEL_SERVING_" -e "^URL=" | sort > $T/env.$HOSTNAME
echo done > $T/done.$HOSTNAME; trap "exit 0" TERM; while :; do sleep 1; done'
for links in true false; do
    cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: links-$links}
spec:
  enableServiceLinks: $links
  terminationGracePeriodSeconds: 2
  volumes: $TVOL
  containers:
  - name: c
    image: test/client:1
    imagePullPolicy: Never
    volumeMounts: $TMNT
    env:
    - {name: URL, value: "http://\$(MODEL_SERVING_SERVICE_HOST):\$(MODEL_SERVING_SERVICE_PORT)/"}
    - {name: MODEL_SERVING_PORT_8500_TCP_ADDR, value: mine}
YAML
done
wait_for 60 "both pods ran their script" -- sh_eval 'test -f $TSHARE/done.links-true && test -f $TSHARE/done.links-false'
E=$TSHARE/env.links-true
expect_eq "$(grep '^MODEL_SERVING_SERVICE_HOST=' "$E")" "MODEL_SERVING_SERVICE_HOST=$ip" "_SERVICE_HOST is the cluster IP"
port=$(kubectl get svc model-serving -o jsonpath='{.spec.ports[0].port}')
pname=$(kubectl get svc model-serving -o jsonpath='{.spec.ports[0].name}' | tr 'a-z-' 'A-Z_')
expect_eq "$(grep '^MODEL_SERVING_SERVICE_PORT=' "$E")" "MODEL_SERVING_SERVICE_PORT=$port" "_SERVICE_PORT is the first port"
[ -n "$pname" ] && expect_eq "$(grep "^MODEL_SERVING_SERVICE_PORT_$pname=" "$E")" "MODEL_SERVING_SERVICE_PORT_$pname=$port" \
    "_SERVICE_PORT_<NAME> for a named port"
expect_eq "$(grep '^MODEL_SERVING_PORT=' "$E")" "MODEL_SERVING_PORT=tcp://$ip:$port" "the docker-link _PORT"
expect_eq "$(grep "^MODEL_SERVING_PORT_${port}_TCP_PROTO=" "$E")" "MODEL_SERVING_PORT_${port}_TCP_PROTO=tcp" "_PROTO"
expect_eq "$(grep '^URL=' "$E")" "URL=http://$ip:$port/" "\$(VAR) in env sees them"
expect_eq "$(grep '^MODEL_SERVING_PORT_8500_TCP_ADDR=' "$E")" "MODEL_SERVING_PORT_8500_TCP_ADDR=mine" "env overrides them"
expect_eq "$(grep -c '^MODEL_SERVING_SERVICE' "$TSHARE/env.links-false")" "0" "enableServiceLinks: false: none"
finish
