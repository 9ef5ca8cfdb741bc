#!/bin/bash
# The tutorial's Project 1: a rolling update with an automatic pause-check-resume-or-rollback,
# in plain kubectl against the tutorial's Deployment (examples/tutorial/deployment.yaml).
#
#   playbook.sh IMAGE [NAME=VALUE...]
#
# Sets the container's image (and the given environment variables, in the same revision), waits
# until the first pod of the new revision is available, pauses the rollout, runs the checks
# against that pod through `kubectl port-forward` (its model status must be AVAILABLE and
# CHECK_REQUESTS predictions must all answer 200), then resumes and waits for the rollout, or
# rolls back. Exit code: 0 resumed and complete, 1 rolled back (checks failed), 2 error
# (bad arguments, timeout, the rollout did not complete).
# Environment: DEPLOY (model-serving), CONTAINER (server), PORT (8501), MODEL (classifier),
# CHECK_REQUESTS (20, 1..1000), TIMEOUT (seconds for each wait, 300).
set -u
DEPLOY=${DEPLOY:-model-serving}
CONTAINER=${CONTAINER:-server}
PORT=${PORT:-8501}
MODEL=${MODEL:-classifier}
CHECK_REQUESTS=${CHECK_REQUESTS:-20}
TIMEOUT=${TIMEOUT:-300}

log() { printf 'playbook: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

[ $# -ge 1 ] || die "usage: playbook.sh IMAGE [NAME=VALUE...]"
IMAGE=$1
shift
[[ $IMAGE =~ ^[A-Za-z0-9._:/@-]{1,256}$ ]] || die "not an image reference: $IMAGE"
[[ $CONTAINER =~ ^[a-z0-9-]{1,63}$ ]] || die "not a container name: $CONTAINER"
for kv in "$@"; do
    [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}=[A-Za-z0-9._:/@+-]{0,256}$ ]] ||
        die "not NAME=VALUE (letters, digits and ._:/@+- in the value): $kv"
done
[[ $CHECK_REQUESTS =~ ^[0-9]+$ ]] && [ "$CHECK_REQUESTS" -ge 1 ] && [ "$CHECK_REQUESTS" -le 1000 ] ||
    die "CHECK_REQUESTS must be 1..1000"
[[ $TIMEOUT =~ ^[0-9]+$ ]] && [ "$TIMEOUT" -ge 1 ] || die "TIMEOUT must be a number of seconds"
command -v kubectl >/dev/null && command -v curl >/dev/null || die "needs kubectl and curl"

PF_PID=
WORK=$(mktemp -d) || die "mktemp"
trap '[ -n "$PF_PID" ] && kill "$PF_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

# until SECS WHAT -- CMD...: polls CMD every second for at most SECS seconds.
until_ok() {
    local secs=$1 what=$2 i
    shift 3
    for ((i = 0; i < secs; i++)); do
        "$@" && return 0
        sleep 1
    done
    die "timed out after ${secs}s: $what"
}

# The newest ReplicaSet of the Deployment (highest revision annotation) and its hash.
new_rs() {
    kubectl get rs -l "$SELECTOR" -o jsonpath='{range .items[*]}{.metadata.annotations.deployment\.kubernetes\.io/revision} {.metadata.name} {.metadata.labels.pod-template-hash}{"\n"}{end}' |
        sort -n | tail -1
}
# Sets REV NEW_RS HASH when the newest ReplicaSet's revision is above REV0 (the one before the
# change; an old template coming back gets a new revision number too).
new_revision() {
    read -r REV NEW_RS HASH <<<"$(new_rs)"
    [ -n "${HASH:-}" ] && [ "${REV:-0}" -gt "$REV0" ] 2>/dev/null
}
first_available() { [ "$(kubectl get rs "$NEW_RS" -o jsonpath='{.status.availableReplicas}')" -ge 1 ] 2>/dev/null; }

kubectl get deploy "$DEPLOY" >/dev/null || die "no Deployment $DEPLOY"
SELECTOR=$(kubectl get deploy "$DEPLOY" -o go-template='{{range $k, $v := .spec.selector.matchLabels}}{{$k}}={{$v}},{{end}}')
SELECTOR=${SELECTOR%,}
[ -n "$SELECTOR" ] || die "Deployment $DEPLOY has no matchLabels selector"

REV0=$(new_rs | cut -d' ' -f1)
REV0=${REV0:-0}
# 1. the new revision: image and environment in one change (a second change would be a second
#    revision), then wait until the controller has made the new revision's ReplicaSet.
log "set image $CONTAINER=$IMAGE ${*:-}"
# One strategic merge patch (what `kubectl set image` sends), merging by container and
# variable name: the image and the variables in one change.
envs=
for kv in "$@"; do
    envs="$envs${envs:+,}{\"name\":\"${kv%%=*}\",\"value\":\"${kv#*=}\"}"
done
patch="{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"$CONTAINER\",\"image\":\"$IMAGE\""
[ -n "$envs" ] && patch="$patch,\"env\":[$envs]"
patch="$patch}]}}}}"
kubectl patch deployment "$DEPLOY" -p "$patch" >/dev/null || die "could not update $DEPLOY"
until_ok "$TIMEOUT" "a new revision's ReplicaSet" -- new_revision
log "revision $REV: ReplicaSet $NEW_RS"

# 2. pause once the first new pod is available (with maxUnavailable 0 and minReadySeconds the
#    controller has not removed an old pod for it yet, or only one).
until_ok "$TIMEOUT" "the first new pod is available" -- first_available
kubectl rollout pause "deployment/$DEPLOY" >/dev/null || die "pause failed"
log "paused with the first new pod available"

# 3. checks against that pod, through a port-forward (no Service involved: only the new pod).
POD=$(kubectl get pods -l "$SELECTOR,pod-template-hash=$HASH" \
    -o jsonpath='{range .items[?(@.status.phase=="Running")]}{.metadata.name}{"\n"}{end}' | head -1)
[ -n "$POD" ] || die "no running pod of $NEW_RS"
kubectl port-forward "pod/$POD" ":$PORT" >"$WORK/pf.log" 2>&1 &
PF_PID=$!
pf_ready() { grep -q 'Forwarding from 127.0.0.1:' "$WORK/pf.log"; }
until_ok 30 "port-forward to $POD" -- pf_ready
LP=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$WORK/pf.log" | head -1)
BASE="http://127.0.0.1:$LP/v1/models/$MODEL"
failed=0
state=$(curl -s -m 5 "$BASE" | grep -o '"state": *"[A-Z]*"' | head -1)
case $state in *AVAILABLE*) log "check: $POD model status AVAILABLE" ;;
    *) log "check FAILED: $POD model status: ${state:-no answer}"; failed=1 ;; esac
bad=0
for ((i = 0; i < CHECK_REQUESTS; i++)); do
    code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST \
        -d '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' "$BASE:predict")
    [ "$code" = 200 ] || bad=$((bad + 1))
done
if [ "$bad" -gt 0 ]; then
    log "check FAILED: $bad of $CHECK_REQUESTS predictions on $POD did not answer 200"
    failed=1
else
    log "check: $CHECK_REQUESTS predictions on $POD answered 200"
fi
kill "$PF_PID" 2>/dev/null
wait "$PF_PID" 2>/dev/null
PF_PID=

# 4. resume or roll back (a paused Deployment cannot be undone: resume first).
kubectl rollout resume "deployment/$DEPLOY" >/dev/null || die "resume failed"
if [ "$failed" = 0 ]; then
    log "resumed"
    kubectl rollout status "deployment/$DEPLOY" --timeout="${TIMEOUT}s" >&2 || die "the rollout did not complete"
    exit 0
fi
kubectl rollout undo "deployment/$DEPLOY" >/dev/null || die "undo failed"
log "rolled back from revision $REV"
kubectl rollout status "deployment/$DEPLOY" --timeout="${TIMEOUT}s" >&2 || die "the rollback did not complete"
exit 1
