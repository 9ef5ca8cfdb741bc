#!/usr/bin/env bash
# Issue 15, Project 2: config rotation with no downtime, and config that rolls back with the code.
# Basics first (immutable ConfigMap/Secret, create --dry-run | apply, optional and missing
# references), then examples/project2 under load through kroll's proxy: a plain ConfigMap
# update reaches every pod in place (no rollout), and with kroll.dev/config-rollout a change
# rolls the Deployment out onto an immutable snapshot, `rollout undo` brings back the old image
# and its config, and the snapshots go with the ReplicaSets that revisionHistoryLimit prunes;
# `kubectl rollout restart` replaces every pod. Every phase under load asserts 0 failed
# requests and says which config answered them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/svc-helpers.sh"
svc_setup
EX=$KROLL_SRC/examples/project2
LOAD=$(dirname "$0")/t1500-load.py
IMM='field is immutable when `immutable` is set'

# ---- immutable ConfigMap and Secret (ValidateConfigMapUpdate / ValidateSecretUpdate) ----
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: frozen}
immutable: true
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: frozen}
immutable: true
stringData: {a: "1"}
Y
expect_rc 1 "immutable ConfigMap: data change refused" -- kubectl patch cm frozen -p '{"data":{"a":"2"}}'
expect_match "$(cat "$TEST_DIR/out")" "ConfigMap \"frozen\" is invalid: data: Forbidden: $IMM" "422 text and field path (data)"
expect_rc 1 "immutable ConfigMap: immutable flag cannot be cleared" -- kubectl patch cm frozen -p '{"immutable":false}'
expect_match "$(cat "$TEST_DIR/out")" "immutable: Forbidden: $IMM" "422 names the immutable field"
expect_rc 1 "immutable ConfigMap: binaryData cannot be added" -- kubectl patch cm frozen -p '{"binaryData":{"b":"AA=="}}'
expect_match "$(cat "$TEST_DIR/out")" "binaryData: Forbidden: $IMM" "422 names binaryData"
expect_rc 0 "immutable ConfigMap: metadata stays mutable" -- kubectl label cm frozen tier=gold
expect_rc 1 "immutable Secret: data change refused" -- kubectl patch secret frozen -p '{"stringData":{"a":"2"}}'
expect_match "$(cat "$TEST_DIR/out")" "Secret \"frozen\" is invalid: data: Forbidden: $IMM" "Secret 422 text"
expect_rc 0 "immutable ConfigMap can be deleted" -- kubectl delete cm frozen

# ---- kubectl create configmap --dry-run=client -o yaml | kubectl apply -f - ----
mk() { kubectl create configmap fresh --from-literal=k="$1" --dry-run=client -o yaml | kubectl apply -f -; }
expect_eq "$(mk v1 2>&1)" "configmap/fresh created" "create | apply creates"
RV=$(kubectl get cm fresh -o jsonpath='{.metadata.resourceVersion}')
# kubectl sends {"metadata":{"creationTimestamp":null}} again (and says "configured"): no write.
expect_match "$(mk v1 2>&1)" '^configmap/fresh (unchanged|configured)$' "the same again is accepted"
expect_eq "$(kubectl get cm fresh -o jsonpath='{.metadata.resourceVersion}')" "$RV" "and writes nothing (same resourceVersion)"
expect_eq "$(mk v2 2>&1)" "configmap/fresh configured" "changed value: configured"
expect_eq "$(kubectl get cm fresh -o jsonpath='{.data.k}')" v2 "value stored"

# ---- optional and missing references (kubelet semantics) ----
kubectl apply -f - >/dev/null <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: opt}
spec:
  volumes:
  - {name: c, configMap: {name: nope, optional: true}}
  - {name: s, secret: {secretName: nope, optional: true}}
  containers:
  - name: main
    image: myrepo/tf-serving:1.0.3
    command: ["/bin/sh", "-c", "echo files=$(ls /c | wc -l)$(ls /s | wc -l); echo OPT=${OPT-unset}; exec sleep 3600"]
    env: [{name: OPT, valueFrom: {configMapKeyRef: {name: nope, key: k, optional: true}}}]
    volumeMounts: [{name: c, mountPath: /c}, {name: s, mountPath: /s}]
---
apiVersion: v1
kind: Pod
metadata: {name: needs}
spec:
  containers:
  - name: main
    image: myrepo/tf-serving:1.0.3
    command: ["/bin/sh", "-c", "echo NEED=$NEED; exec sleep 3600"]
    env: [{name: NEED, valueFrom: {configMapKeyRef: {name: later, key: k}}}]
Y
wait_for 30 "optional missing ConfigMap/Secret: the pod runs" -- sh_eval '[ "$(kubectl get pod opt -o jsonpath={.status.phase})" = Running ]'
wait_for 10 "optional: empty volumes (only the ..data link), variable unset" -- sh_eval '[ "$(kubectl logs opt | tr "\n" " ")" = "files=00 OPT=unset " ]'
wait_for 30 "missing non-optional ConfigMap: CreateContainerConfigError" -- sh_eval \
    '[ "$(kubectl get pod needs -o jsonpath={.status.containerStatuses[0].state.waiting.reason})" = CreateContainerConfigError ]'
expect_eq "$(kubectl get pod needs -o jsonpath='{.status.containerStatuses[0].state.waiting.message}')" \
    'configmap "later" not found' "its message as the kubelet's"
kubectl create configmap later --from-literal=k=here >/dev/null
wait_for 30 "the pod starts once the ConfigMap exists" -- sh_eval '[ "$(kubectl logs needs 2>/dev/null)" = NEED=here ]'
kubectl delete pod opt needs --grace-period=0 --wait=false >/dev/null 2>&1

# ---- opted in with env references: a Secret (secretKeyRef) and a ConfigMap (envFrom) ----
kubectl create secret generic creds --from-literal=token=t1 >/dev/null
kubectl create configmap envcfg --from-literal=MODE=fast >/dev/null
kubectl apply -f - >/dev/null 2>&1 <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: envd, annotations: {kroll.dev/config-rollout: "true"}}
spec:
  replicas: 1
  selector: {matchLabels: {app: envd}}
  template:
    metadata: {labels: {app: envd}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: myrepo/tf-serving:1.0.3
        command: ["/bin/sh", "-c", "echo MODE=$MODE TOKEN=$TOKEN; exec sleep 3600"]
        envFrom: [{configMapRef: {name: envcfg}}]
        env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}]
Y
env_refs() { kubectl get deploy envd -o jsonpath='{.spec.template.spec.containers[0].envFrom[0].configMapRef.name} {.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name}'; }
wait_for 20 "env references rewritten to snapshots" -- sh_eval '[[ "$(env_refs)" =~ ^envcfg-[a-z0-9]{10}\ creds-[a-z0-9]{10}$ ]]'
S1=$(env_refs); S1=${S1#* }
expect_eq "$(kubectl get secret "$S1" -o jsonpath='{.type} {.immutable} {.metadata.annotations.kroll\.dev/config-snapshot-of}')" \
    "Opaque true creds" "Secret snapshot: same type, immutable, names its source"
# The output of every live (not terminating) pod of envd.
envd_logs() {
    local p
    for p in $(kubectl get pods -l app=envd -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.deletionTimestamp}{"\n"}{end}' | awk 'NF == 1'); do
        kubectl logs "$p" 2>/dev/null
    done
}
wait_for 30 "the pod reads its env from the snapshots" -- sh_eval '[ "$(envd_logs)" = "MODE=fast TOKEN=t1" ]'
kubectl create secret generic creds --from-literal=token=t2 --dry-run=client -o yaml | kubectl apply -f - >/dev/null 2>&1
wait_for 60 "a Secret change rolls out: the new pod has TOKEN=t2" -- sh_eval '[ "$(envd_logs)" = "MODE=fast TOKEN=t2" ]'
S2=$(env_refs); S2=${S2#* }
[ "$S2" != "$S1" ] && pass "new Secret snapshot $S2" || fail "Secret snapshot unchanged"
kubectl delete deploy envd >/dev/null
wait_for 30 "deleting the Deployment deletes its snapshots" -- sh_eval \
    '[ -z "$(kubectl get cm,secret -l kroll.dev/config-snapshot=true -o name)" ]'

# ---- helpers for the model Deployment ----
IP=""
cfg_set() { # cfg_set VERSION: rotate model-config the way the README says
    printf 'version: %s\nthreshold: "0.%s"\n' "$1" "${#1}" >"$TEST_DIR/config.yaml"
    kubectl create configmap model-config --from-file=config.yaml="$TEST_DIR/config.yaml" \
        --dry-run=client -o yaml | kubectl apply -f - >/dev/null
}
tmpl_ref() { kubectl get deploy model -o jsonpath='{.spec.template.spec.volumes[0].configMap.name}'; }
# Every pod of the Deployment (no terminating one left) answers with config $1 (and image $2),
# asked inside its network namespace (pod addresses are not reachable from the host's).
all_serve() {
    local want=$1 img=${2:-} lines n=0 ip uid rest h
    lines=$(kubectl get pods -l app=model -o jsonpath='{range .items[*]}{.status.podIP} {.metadata.uid} {.metadata.deletionTimestamp}{"\n"}{end}')
    while read -r ip uid rest; do
        [ -n "$uid" ] && [ -z "$rest" ] && [ -s "$KROLL_DATA/pods/$uid/shim.pid" ] || return 1
        h=$(nsenter -t "$(cat "$KROLL_DATA/pods/$uid/shim.pid")" -n \
            curl -s -m 2 -o /dev/null -D - "http://$ip:8501/v1/models/classifier" | tr -d '\r')
        grep -qx "X-Config-Version: $want" <<<"$h" || return 1
        [ -z "$img" ] || grep -qx "X-Model-Version: $img" <<<"$h" || return 1
        n=$((n + 1))
    done <<<"$lines"
    [ "$n" = 3 ]
}
load_start() { rm -f "$TEST_DIR/stop"; /usr/bin/python3 "$LOAD" --host "$IP" --port 80 --stop "$TEST_DIR/stop" --max 240 >"$TEST_DIR/$1.json" & LOAD_PID=$!; sleep 2; }
load_stop() { # load_stop NAME WANT_LAST: no failure, and only WANT_LAST in the last 2 seconds
    sleep 2; touch "$TEST_DIR/stop"; wait "$LOAD_PID"
    local r
    r=$(/usr/bin/python3 - "$TEST_DIR/$1.json" "$2" <<'P'
import json, sys
s = json.load(open(sys.argv[1])); want = sys.argv[2]
late = [v for v, x in s["versions"].items() if v != want and x["last"] > s["seconds"] - 1.5]
vs = " ".join("%s:%d" % (v, x["n"]) for v, x in sorted(s["versions"].items()))
print("%d requests, %d failed, by config %s%s%s" % (s["requests"], s["failed"], vs,
      " LATE " + ",".join(late) if late else "", " ERR " + json.dumps(s["errors"][:3]) if s["failed"] else ""))
P
)
    expect_match "$r" "^[0-9]+ requests, 0 failed, .*$2:[0-9]+$|^[0-9]+ requests, 0 failed, .*$2:[0-9]+ " "$1: $r"
    [[ "$r" != *LATE* ]] && pass "$1: only $2 answers at the end" || fail "$1: older config still answering: $r"
}
# Seconds (two decimals) since T0 (date +%s%N).
since() { awk -v a="$T0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
# Seconds since T0 until every pod serves config $1 (and image $3), bounded by $2 seconds.
time_to_all() {
    local end=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        if all_serve "$1" "${3:-}"; then since; return 0; fi
        sleep 0.1
    done
    return 1
}
# Seconds since T0 until the volume of every model pod holds config $1 (the kubelet's part).
vol_all() {
    local uids u ok end=$(( $(date +%s) + 30 ))
    uids=$(kubectl get pods -l app=model -o jsonpath='{.items[*].metadata.uid}')
    while [ "$(date +%s)" -lt "$end" ]; do
        ok=1
        for u in $uids; do
            grep -qx "version: $1" "$KROLL_DATA/pods/$u/volumes/config/config.yaml" 2>/dev/null || ok=0
        done
        [ "$ok" = 1 ] && { since; return 0; }
        sleep 0.05
    done
    return 1
}

# ---- phase A: plain Kubernetes (no annotation): in-place reload, no rollout ----
kubectl apply -f "$EX/configmap.yaml" -f "$EX/service.yaml" >/dev/null
sed '/kroll.dev\/config-rollout/d; /annotations:/d' "$EX/deployment.yaml" | kubectl apply -f - >/dev/null 2>&1
wait_for 90 "model Deployment ready (3 pods serving config v1)" -- all_serve v1
IP=$(svc_ip model)
load_start loadA
T0=$(date +%s%N)
cfg_set v2
if D=$(vol_all v2); then pass "in place: every pod's volume switched to v2 ${D}s after the apply started"; else fail "volumes not updated"; fi
if D=$(time_to_all v2 60); then pass "in place: every pod serves v2 ${D}s after the apply (no restart)"; else fail "pods did not all reload v2"; fi
load_stop loadA v2
expect_eq "$(kubectl get rs -l app=model -o name | wc -l)" 1 "no rollout without the annotation (one ReplicaSet)"
expect_eq "$(kubectl get pods -l app=model -o jsonpath='{range .items[*]}{.status.containerStatuses[0].restartCount}{end}')" 000 "no container restarted"
expect_eq "$(tmpl_ref)" model-config "template untouched"

# ---- phase B: opt in; each revision pinned to a snapshot ----
kubectl annotate deploy model kroll.dev/config-rollout=true >/dev/null
wait_for 20 "template now points at a snapshot" -- sh_eval '[[ "$(tmpl_ref)" =~ ^model-config-[a-z0-9]{10}$ ]]'
SNAP2=$(tmpl_ref)
expect_eq "$(kubectl get cm "$SNAP2" -o jsonpath='{.immutable} {.metadata.labels.kroll\.dev/config-snapshot} {.metadata.annotations.kroll\.dev/config-snapshot-of}')" \
    "true true model-config" "snapshot is immutable, labelled, names its source"
expect_eq "$(kubectl get cm "$SNAP2" -o jsonpath='{.data.config\.yaml}')" "$(cat "$TEST_DIR/config.yaml")" "snapshot holds the live content"
expect_match "$(kubectl get deploy model -o jsonpath='{.spec.template.metadata.annotations.kroll\.dev/config-hash}')" '^[a-z0-9]{6,10}$' "template carries the config hash"
kubectl rollout status deploy/model --timeout=90s >/dev/null
expect_eq "$(kubectl get rs -l app=model -o name | wc -l)" 2 "opting in made exactly one new ReplicaSet (none for the plain names)"

load_start loadB
T0=$(date +%s%N)
cfg_set v3
if D=$(time_to_all v3 120); then pass "rollout: every pod serves v3 ${D}s after the apply"; else fail "v3 did not roll out"; fi
SNAP3=$(tmpl_ref)
[ "$SNAP3" != "$SNAP2" ] && pass "the change rolled out onto a new snapshot ($SNAP3)" || fail "template still at $SNAP2"
expect_eq "$(kubectl get rs -l app=model -o name | wc -l)" 3 "one new ReplicaSet for the change"
load_stop loadB v3
kubectl set image deploy/model server=myrepo/tf-serving:1.0.4 >/dev/null
kubectl rollout status deploy/model --timeout=90s >/dev/null
wait_for 60 "code change: 1.0.4 with config v3" -- all_serve v3 1.0.4
expect_eq "$(tmpl_ref)" "$SNAP3" "an image change keeps the snapshot"
wait_for 10 "the shared snapshot is owned by both ReplicaSets" -- sh_eval \
    '[ "$(kubectl get cm "$SNAP3" -o jsonpath="{range .metadata.ownerReferences[*]}{.kind}{\"\n\"}{end}" | grep -c ReplicaSet)" = 2 ]'

REV2=$(kubectl get rs -l app=model -o jsonpath="{range .items[?(@.spec.template.spec.volumes[0].configMap.name==\"$SNAP2\")]}{.metadata.annotations.deployment\.kubernetes\.io/revision}{end}")
load_start loadC
T0=$(date +%s%N)
kubectl rollout undo deploy/model --to-revision="$REV2" >/dev/null
if D=$(time_to_all v2 120 1.0.3); then pass "undo to revision $REV2: 1.0.3 with config v2 again on every pod (${D}s)"; else fail "undo did not restore 1.0.3 + v2"; fi
load_stop loadC v2
expect_eq "$(kubectl get cm model-config -o jsonpath='{.data.config\.yaml}' | head -n 1)" "version: v3" "the live ConfigMap still says v3"
sleep 3
expect_eq "$(tmpl_ref)" "$SNAP2" "the undo sticks (no roll forward to the live config)"

# ---- snapshots go with the ReplicaSets that history pruning deletes ----
kubectl patch deploy model -p '{"spec":{"revisionHistoryLimit":0}}' >/dev/null
wait_for 30 "old ReplicaSets pruned" -- sh_eval '[ "$(kubectl get rs -l app=model -o name | wc -l)" = 1 ]'
wait_for 30 "their snapshots garbage-collected; the serving one stays" -- sh_eval \
    '[ "$(kubectl get cm -l kroll.dev/config-snapshot=true -o name)" = "configmap/$SNAP2" ]'

# ---- the next change after an undo rolls forward again ----
T0=$(date +%s%N)
cfg_set v4
if D=$(time_to_all v4 120 1.0.3); then pass "next change after the undo: every pod serves v4 (${D}s)"; else fail "v4 did not roll out"; fi

# ---- kubectl rollout restart: a plain template change, same snapshot, every pod replaced ----
OLDPODS=$(kubectl get pods -l app=model -o jsonpath='{.items[*].metadata.name}')
SNAP4=$(tmpl_ref)
load_start loadD
kubectl rollout restart deploy/model >/dev/null
kubectl rollout status deploy/model --timeout=90s >/dev/null
wait_for 60 "rollout restart: three new pods, serving v4" -- sh_eval \
    'all_serve v4 && [ -z "$(comm -12 <(tr " " "\n" <<<"$OLDPODS" | sort) <(kubectl get pods -l app=model -o jsonpath="{range .items[*]}{.metadata.name}{\"\n\"}{end}" | sort))" ]'
load_stop loadD v4
expect_match "$(kubectl get deploy model -o jsonpath='{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}')" '^[0-9]{4}-' "restartedAt annotation set"
expect_eq "$(tmpl_ref)" "$SNAP4" "restart keeps the snapshot"
finish
