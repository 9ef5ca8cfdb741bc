#!/bin/bash
# t1020: apply (client-side and server-side with field managers and conflicts), defaulting,
# validation (422 with causes rendered by kubectl as a real cluster does, nothing stored), strict
# field validation (typo rejected with its path, --validate=false accepts, Warn answers a Warning
# header), protobuf bodies from kubectl's generators, and 415 for bodies we cannot decode.
. "$(dirname "$0")/lib.sh"

kroll_start
cd "$TEST_DIR"
CM=/api/v1/namespaces/default/configmaps

# client-side apply: created, unchanged, configured; last-applied annotation kept verbatim
cat >dep.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: c, image: example/app:1}]
YAML
expect_eq "$(kubectl apply -f dep.yaml)" "deployment.apps/app created" "apply creates"
expect_eq "$(kubectl apply -f dep.yaml)" "deployment.apps/app unchanged" "apply unchanged"
sed -i 's/app:1/app:2/' dep.yaml
expect_eq "$(kubectl apply -f dep.yaml)" "deployment.apps/app configured" "apply configured"
expect_match "$(kubectl get deploy app -o jsonpath='{.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}')" \
    'example/app:2' "last-applied-configuration stored"
# defaults a real cluster fills (kubectl describe needs spec.replicas)
expect_eq "$(kubectl get deploy app -o jsonpath='{.spec.replicas} {.spec.strategy.type} {.spec.strategy.rollingUpdate.maxSurge} {.spec.revisionHistoryLimit} {.spec.progressDeadlineSeconds}')" \
    "1 RollingUpdate 25% 10 600" "deployment defaults"
expect_eq "$(kubectl get deploy app -o jsonpath='{.spec.template.spec.containers[0].imagePullPolicy} {.spec.template.spec.containers[0].terminationMessagePath} {.spec.template.spec.dnsPolicy} {.spec.template.spec.restartPolicy}')" \
    "IfNotPresent /dev/termination-log ClusterFirst Always" "pod template defaults"
expect_rc 0 "describe deployment works" -- kubectl describe deploy app

# server-side apply with two managers: conflict as kubectl prints it, then --force-conflicts
cat >cm.yaml <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: ssa}
data: {a: "1", b: "2"}
YAML
expect_eq "$(kubectl apply --server-side -f cm.yaml)" "configmap/ssa serverside-applied" "server-side apply creates"
expect_eq "$(kubectl apply --server-side -f cm.yaml)" "configmap/ssa serverside-applied" "server-side apply again by the same manager"
sed 's/"1"/"9"/' cm.yaml >cm2.yaml
out=$(kubectl apply --server-side --field-manager=other -f cm2.yaml 2>&1); rc=$?
expect_eq "$rc" "1" "conflicting server-side apply fails"
expect_match "$out" '^error: Apply failed with 1 conflict: conflict with "kubectl": \.data\.a' "conflict message names the manager and field"
expect_match "$out" 'please re-run the apply' "kubectl explains --force-conflicts"
expect_eq "$(kubectl get cm ssa -o jsonpath='{.data.a}')" "1" "conflicting apply stored nothing"
expect_eq "$(kubectl apply --server-side --field-manager=other --force-conflicts -f cm2.yaml)" "configmap/ssa serverside-applied" "--force-conflicts"
expect_eq "$(kubectl get cm ssa -o jsonpath='{.data.a}')" "9" "forced apply wins"
mf=$(kubectl get cm ssa -o json --show-managed-fields | jq -c '[.metadata.managedFields[] | {manager, operation, f: (.fieldsV1["f:data"] | keys - ["."] | sort)}]')
expect_eq "$mf" '[{"manager":"kubectl","operation":"Apply","f":["f:b"]},{"manager":"other","operation":"Apply","f":["f:a","f:b"]}]' \
    "managedFields after a forced apply"
out=$(api_curl "$CM/ssa2?fieldManager=m1" -X PATCH -H 'Content-Type: application/apply-patch+yaml' -d $'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa2\ndata:\n  k: v\n' -w ' %{http_code}')
expect_match "$out" '"k":"v".* 201$' "apply-patch of a missing object creates it (201)"
expect_match "$(api_curl "$CM/ssa2" -X PATCH -H 'Content-Type: application/apply-patch+yaml' -d 'data: {k: v}')" \
    'requires a fieldManager' "apply-patch without fieldManager is refused"

# validation: 422 with causes, kubectl's rendering, nothing stored
cat >inv.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: invalid}
spec:
  replicas: -1
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers: [{name: c, image: x}]
YAML
out=$(kubectl apply -f inv.yaml 2>&1)
expect_eq "$out" 'The Deployment "invalid" is invalid: 
* spec.replicas: Invalid value: -1: must be greater than or equal to 0
* spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`' \
    "invalid Deployment message as a real cluster prints it"
expect_match "$(kubectl get deploy invalid 2>&1)" 'not found' "invalid Deployment not stored"
st=$(api_curl "/apis/apps/v1/namespaces/default/deployments" -X POST -H 'Content-Type: application/json' \
    -d "$(kubectl create -f inv.yaml --dry-run=client -o json)")
expect_eq "$(jq -r '.code, .reason, .details.kind, .details.name, .details.group, (.details.causes | length), .details.causes[0].field, .details.causes[0].reason' <<<"$st" | tr '\n' ' ')" \
    "422 Invalid Deployment invalid apps 2 spec.replicas FieldValueInvalid " "422 Status details"
cat >pod.yaml <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: p1}
spec:
  containers: [{name: c, image: ""}]
YAML
expect_eq "$(kubectl apply -f pod.yaml 2>&1)" 'The Pod "p1" is invalid: spec.containers[0].image: Required value' "pod without image"
expect_match "$(kubectl create cm Bad_Name 2>&1)" 'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of' "bad name"
expect_match "$(api_curl $CM -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"t"},"data":{"a":5}}' -w ' %{http_code}')" \
    '"code":(400|422).* (400|422)$' "wrong type is refused with a Status"
expect_match "$(kubectl get cm t 2>&1)" 'not found' "wrongly typed object not stored"
cat >wt.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: wt}
spec:
  replicas: "three"
  selector: {matchLabels: {app: wt}}
  template:
    metadata: {labels: {app: wt}}
    spec:
      containers: [{name: c, image: x, ports: [{containerPort: 80}]}]
YAML
expect_eq "$(kubectl apply -f wt.yaml 2>&1)" \
    'Error from server (BadRequest): error when creating "wt.yaml": Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32' \
    "wrong type refused as the API server's decoder words it"
sed -i 's/"three"/1/; s/containerPort: 80/containerPort: "80"/' wt.yaml
expect_match "$(kubectl apply -f wt.yaml 2>&1)" \
    'json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32$' \
    "wrong type in a list item: path without indices"
expect_match "$(kubectl get deploy wt 2>&1)" 'not found' "wrongly typed deployment not stored"

# strict field validation
cat >typo.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: typo}
spec:
  selector: {matchLabels: {app: typo}}
  template:
    metadata: {labels: {app: typo}}
    spec:
      containers: [{name: c, image: x, imagePullPolcy: Always}]
YAML
out=$(kubectl apply -f typo.yaml 2>&1)
expect_eq "$out" 'Error from server (BadRequest): error when creating "typo.yaml": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolcy"' \
    "apply of a manifest with a typo fails with the field path"
expect_match "$(kubectl get deploy typo 2>&1)" 'not found' "typo manifest not stored"
expect_eq "$(kubectl apply -f typo.yaml --validate=false 2>&1 | grep -v "^Warning: spec.template.spec.containers")" "deployment.apps/typo created" "--validate=false accepts"
expect_eq "$(kubectl get deploy typo -o jsonpath='{.spec.template.spec.containers[0]}' | grep -c imagePullPolcy)" "0" "unknown field dropped"
hdr=$(api_curl "$CM?fieldValidation=Warn" -X POST -H 'Content-Type: application/json' -D - -o /dev/null \
    -d '{"metadata":{"name":"warn1"},"data":{"a":"b"},"spec":{"foo":1}}')
expect_match "$hdr" 'Warning: 299 - "unknown field \\"spec\\""' "fieldValidation=Warn answers a Warning header"
hdr=$(api_curl "$CM?fieldValidation=Ignore" -X POST -H 'Content-Type: application/json' -D - -o /dev/null \
    -d '{"metadata":{"name":"warn2"},"data":{"a":"b"},"foo":1}')
expect_eq "$(grep -ci '^warning' <<<"$hdr")" "0" "fieldValidation=Ignore: no warning"
out=$(kubectl create --validate=warn -f - 2>&1 <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: warn3}
data: {a: b}
foo: 1
YAML
)
expect_match "$out" 'Warning: unknown field "foo"' "kubectl prints the warning"

# protobuf bodies from kubectl's generators
printf 'line1\nline2\n' >f.txt
expect_eq "$(kubectl create configmap files --from-file=f.txt)" "configmap/files created" "create configmap --from-file"
expect_eq "$(kubectl get cm files -o jsonpath='{.data.f\.txt}')" "line1
line2" "configmap file content"
kubectl create secret generic sec --from-literal=user=admin --from-literal=pw='p@ss w' >/dev/null
expect_eq "$(kubectl get secret sec -o jsonpath='{.data.pw}' | base64 -d) $(kubectl get secret sec -o jsonpath='{.type}')" "p@ss w Opaque" "create secret generic"
kubectl create deployment gen --image=example/gen:1 --replicas=3 --port=8080 >/dev/null
expect_eq "$(kubectl get deploy gen -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort} {.spec.selector.matchLabels.app}')" \
    "3 example/gen:1 8080 gen" "create deployment"
kubectl create service clusterip gsvc --tcp=80:8080 >/dev/null
expect_eq "$(kubectl get svc gsvc -o jsonpath='{.spec.type} {.spec.ports[0].port} {.spec.ports[0].targetPort} {.spec.selector.app}')" \
    "ClusterIP 80 8080 gsvc" "create service clusterip"
kubectl create service nodeport nsvc --tcp=81:8081 >/dev/null
expect_match "$(kubectl get svc nsvc -o jsonpath='{.spec.type} {.spec.ports[0].nodePort}')" '^NodePort 3[0-9]{4}$' "create service nodeport allocates a nodePort"
expect_eq "$(kubectl create namespace gens)" "namespace/gens created" "create namespace"
expect_eq "$(kubectl get ns gens -o jsonpath='{.status.phase}')" "Active" "new namespace Active"
printf 'k8s\000\012\026\012\007apps/v1\022\013StatefulSet\022\000' >ss.pb
out=$(api_curl /apis/apps/v1/namespaces/default/deployments -X POST -H 'Content-Type: application/vnd.kubernetes.protobuf' --data-binary @ss.pb -w ' %{http_code}')
expect_match "$out" '"reason":"UnsupportedMediaType".* 415$' "protobuf of another kind: 415"
head -c 200 /dev/urandom >junk.pb
expect_match "$(api_curl $CM -X POST -H 'Content-Type: application/vnd.kubernetes.protobuf' --data-binary @junk.pb -w ' %{http_code}')" \
    '"kind":"Status".* 400$' "garbage protobuf: 400 Status"
expect_match "$(api_curl $CM -X POST -H 'Content-Type: application/cbor' --data-binary @junk.pb -w ' %{http_code}')" \
    '"reason":"UnsupportedMediaType".* 415$' "unknown body media type: 415"
finish
