#!/bin/bash
# t1525: ServiceAccounts and tokens (issue 15). A new namespace gets the ServiceAccount
# `default` (recreated when deleted) and the ConfigMap kube-root-ca.crt; `kubectl create token`
# makes a JWT that the API accepts as a bearer token (curl, `kubectl auth whoami`) until its
# ServiceAccount is deleted (then 401 with the Unauthorized Status); a pod naming a missing
# ServiceAccount is refused; a pod gets the token, ca.crt and namespace at
# /var/run/secrets/kubernetes.io/serviceaccount, and a Job whose pod (hostNetwork, then its own
# network namespace) runs the real
# kubectl with its in-cluster config (KUBERNETES_SERVICE_HOST/PORT -> the `kubernetes` Service
# -> the proxy -> the API) lists pods; automountServiceAccountToken: false gives no volume.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img-lib.sh"
command -v runc >/dev/null 2>&1 || { say "SKIP: no runc"; exit 0; }

kroll_start
CA=$KROLL_DATA/pki/ca.crt
URL=https://127.0.0.1:$KROLL_PORT
kubectl create namespace sat >/dev/null
wait_for 20 "the default ServiceAccount in a new namespace" -- kubectl -n sat get sa default
wait_for 20 "kube-root-ca.crt in a new namespace" -- kubectl -n sat get cm kube-root-ca.crt
expect_eq "$(kubectl -n sat get cm kube-root-ca.crt -o jsonpath='{.data.ca\.crt}')" "$(cat "$CA")" \
    "kube-root-ca.crt holds kroll's CA"
kubectl -n sat delete sa default >/dev/null
wait_for 20 "the default ServiceAccount is recreated" -- kubectl -n sat get sa default

# ---- TokenRequest and the authenticator ----
kubectl -n sat create sa robot >/dev/null
tok=$(kubectl -n sat create token robot 2>"$TEST_DIR/err")
expect_match "$tok" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "kubectl create token gives a JWT"
claims=$(printf '%s' "$tok" | cut -d. -f2 | tr '_-' '/+' | awk '{ while (length($0) % 4) $0 = $0 "="; print }' | base64 -d)
expect_eq "$(jq -r .sub <<<"$claims")" "system:serviceaccount:sat:robot" "sub claim"
expect_eq "$(jq -r '.["kubernetes.io"].serviceaccount.uid' <<<"$claims")" \
    "$(kubectl -n sat get sa robot -o jsonpath='{.metadata.uid}')" "serviceaccount uid claim"
expect_eq "$(jq '.exp - .iat' <<<"$claims")" "3600" "expirationSeconds defaults to 3600"
code=$(curl -sS -o "$TEST_DIR/body" -w '%{http_code}' --cacert "$CA" -H "Authorization: Bearer $tok" \
    "$URL/api/v1/namespaces/sat/pods")
expect_eq "$code" "200" "curl with the ServiceAccount token lists pods"
expect_match "$(kubectl auth whoami --token="$tok" -o jsonpath='{.status.userInfo.username}' 2>&1)" \
    '^system:serviceaccount:sat:robot$' "kubectl auth whoami shows the ServiceAccount"
expect_rc 1 "expirationSeconds under 10 minutes is refused" -- kubectl -n sat create token robot --duration=5m
expect_match "$(cat "$TEST_DIR/out")" "may not specify a duration less than 10 minutes" "... with upstream's message"
bad=${tok%?}A; [ "$bad" = "$tok" ] && bad=${tok%?}B
code=$(curl -sS -o "$TEST_DIR/body" -w '%{http_code}' --cacert "$CA" -H "Authorization: Bearer $bad" "$URL/api/v1/pods")
expect_eq "$code:$(jq -r .reason "$TEST_DIR/body")" "401:Unauthorized" "a tampered token gets 401 Unauthorized"
kubectl -n sat delete sa robot >/dev/null
code=$(curl -sS -o "$TEST_DIR/body" -w '%{http_code}' --cacert "$CA" -H "Authorization: Bearer $tok" "$URL/api/v1/pods")
expect_eq "$code:$(jq -c '[.kind,.status,.message,.code]' "$TEST_DIR/body")" \
    '401:["Status","Failure","Unauthorized",401]' "the token of a deleted ServiceAccount gets 401"

# ---- admission ----
cat >"$TEST_DIR/ghost.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: ghost, namespace: sat}
spec:
  serviceAccountName: ghost
  containers: [{name: c, image: test/kubectl:1}]
YAML
expect_rc 1 "a pod naming a missing ServiceAccount is refused" -- kubectl apply -f "$TEST_DIR/ghost.yaml"
expect_match "$(cat "$TEST_DIR/out")" 'pods "ghost" is forbidden: error looking up service account sat/ghost: serviceaccount "ghost" not found' \
    "... with upstream's message"

# ---- a Job running kubectl inside a pod ----
dir=$TEST_DIR/img-kubectl
img_root "$dir" "$(command -v kubectl):/bin/kubectl"
S=/var/run/secrets/kubernetes.io/serviceaccount
jq -n --arg t "$TSHARE" --arg s "ls $S > \$T/files.\$HOSTNAME; cat $S/namespace > \$T/ns.\$HOSTNAME
readlink $S/token > \$T/link.\$HOSTNAME
env | grep ^KUBERNETES_SERVICE > \$T/env.\$HOSTNAME
kubectl get pods -n sat -o name > \$T/pods.\$HOSTNAME 2>&1; rc=\$?; echo \$rc > \$T/rc.\$HOSTNAME; exit \$rc" \
    '{Entrypoint: ["/bin/sh", "-c", $s], Env: ["PATH=/usr/bin:/bin", "HOME=/tmp", "T=" + $t]}' >"$dir/image.json"
img_import "$dir" test/kubectl:1
cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: incluster, namespace: sat}
spec:
  backoffLimit: 0
  template:
    spec:
      hostNetwork: true
      restartPolicy: Never
      volumes: $TVOL
      containers:
      - {name: k, image: test/kubectl:1, imagePullPolicy: Never, volumeMounts: $TMNT}
YAML
wait_for 120 "the in-cluster kubectl Job completes" -- sh_eval \
    'test "$(kubectl -n sat get job incluster -o jsonpath="{.status.succeeded}")" = 1'
pod=$(kubectl -n sat get pods -l job-name=incluster -o jsonpath='{.items[0].metadata.name}')
expect_eq "$(tr '\n' ' ' <"$TSHARE/files.$pod")" "ca.crt namespace token " "the ServiceAccount volume's files"
expect_eq "$(cat "$TSHARE/ns.$pod")" "sat" "its namespace file"
expect_eq "$(cat "$TSHARE/link.$pod")" "..data/token" "the token is in the atomic ..data layout"
ip=$(kubectl -n default get svc kubernetes -o jsonpath='{.spec.clusterIP}')
expect_match "$(cat "$TSHARE/env.$pod")" "KUBERNETES_SERVICE_HOST=$ip" "KUBERNETES_SERVICE_HOST is the kubernetes Service"
expect_match "$(cat "$TSHARE/pods.$pod")" "pod/$pod" "kubectl inside the pod lists the pods (itself among them)"
expect_match "$(kubectl -n sat get pod "$pod" -o jsonpath='{.spec.serviceAccountName} {.spec.volumes[*].name}')" \
    '^default .*kube-api-access-[a-z0-9]{5}' "serviceAccountName defaulted, kube-api-access volume added"
expect_match "$(openssl x509 -in "$KROLL_DATA/pki/server.crt" -noout -ext subjectAltName)" "IP Address:$ip" \
    "the server certificate names the kubernetes Service IP"

# The same Job in the pod's own network namespace: the proxy serves the kubernetes Service's
# cluster IP inside every pod (t1520), so in-cluster config works without hostNetwork.
cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: incluster-netns, namespace: sat}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      volumes: $TVOL
      containers:
      - {name: k, image: test/kubectl:1, imagePullPolicy: Never, volumeMounts: $TMNT}
YAML
wait_for 120 "the in-cluster kubectl Job completes in its own network namespace" -- sh_eval \
    'test "$(kubectl -n sat get job incluster-netns -o jsonpath="{.status.succeeded}")" = 1'
pod2=$(kubectl -n sat get pods -l job-name=incluster-netns -o jsonpath='{.items[0].metadata.name}')
expect_match "$(cat "$TSHARE/pods.$pod2" 2>&1)" "pod/$pod2" \
    "kubectl in a pod's own network namespace lists the pods through the kubernetes Service"

# A token bound to a pod dies with the pod.
btok=$(kubectl -n sat create token default --bound-object-kind=Pod --bound-object-name="$pod")
expect_eq "$(printf '%s' "$btok" | cut -d. -f2 | tr '_-' '/+' | awk '{ while (length($0) % 4) $0 = $0 "="; print }' |
    base64 -d | jq -r '.["kubernetes.io"].pod.name')" "$pod" "a bound token names its pod"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" -H "Authorization: Bearer $btok" "$URL/api/v1/namespaces/sat/pods")
expect_eq "$code" "200" "the bound token works while its pod exists"
kubectl -n sat delete pod "$pod" --wait=true >/dev/null
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" -H "Authorization: Bearer $btok" "$URL/api/v1/namespaces/sat/pods")
expect_eq "$code" "401" "and gets 401 once the pod is gone"

# ---- automountServiceAccountToken ----
cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: nomount, namespace: sat}
spec:
  automountServiceAccountToken: false
  containers: [{name: c, image: test/kubectl:1, imagePullPolicy: Never}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: quiet, namespace: sat}
automountServiceAccountToken: false
YAML
expect_eq "$(kubectl -n sat get pod nomount -o jsonpath='{.spec.volumes}')" "" "pod automount false: no volume"
cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: quietpod, namespace: sat}
spec:
  serviceAccountName: quiet
  containers: [{name: c, image: test/kubectl:1, imagePullPolicy: Never}]
YAML
expect_eq "$(kubectl -n sat get pod quietpod -o jsonpath='{.spec.volumes}')" "" "ServiceAccount automount false: no volume"

# A restart keeps the signing key, the kubernetes Service IP and the certificate naming it.
tok=$(kubectl -n sat create token default)
kroll_stop
kroll_start
expect_eq "$(kubectl -n default get svc kubernetes -o jsonpath='{.spec.clusterIP}')" "$ip" "the kubernetes Service keeps its IP"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" -H "Authorization: Bearer $tok" "https://127.0.0.1:$KROLL_PORT/api/v1/namespaces/sat/pods")
expect_eq "$code" "200" "a token from before the restart still works"
wait_for 20 "the kubernetes EndpointSlice follows the API's new port" -- sh_eval \
    'test "$(kubectl -n default get endpointslice kubernetes -o jsonpath="{.ports[0].port}")" = "$KROLL_PORT"' 
finish
