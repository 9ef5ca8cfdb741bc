#!/usr/bin/env bash
# batch/v1 Job with real kubectl: `kubectl create job` gets upstream's defaults and generated
# selector; completions 3 / parallelism 2 completes (`kubectl wait --for=condition=complete`,
# `kubectl logs job/x`, describe's events, the printJob row); backoffLimit 1 fails the Job
# (FailureTarget then Failed, `kubectl wait --for=condition=failed`), and so do restarts of an
# OnFailure pod; activeDeadlineSeconds stops a sleeping Job; ttlSecondsAfterFinished deletes a
# finished one with its pods; bad specs get 422 with field causes; `kubectl delete job` takes
# the pods along.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
node_skip_checks
kroll_start
mkimage test/job 'echo "piece of work"; exit 0'
mkimage test/fail 'echo "failing"; exit 1'
mkimage test/sleep 'exec sleep 300'

expect_match "$(kubectl api-resources --api-group=batch --no-headers)" '^jobs +batch/v1 +true +Job' \
    "api-resources lists jobs in batch/v1"

# ---- kubectl create job: defaults and the generated selector ----
kubectl create job hello --image=test/job >/dev/null
uid=$(kubectl get job hello -o jsonpath='{.metadata.uid}')
expect_eq "$(kubectl get job hello -o jsonpath='{.spec.completions} {.spec.parallelism} {.spec.backoffLimit} {.spec.completionMode} {.spec.suspend} {.spec.manualSelector} {.spec.podReplacementPolicy} {.spec.template.spec.restartPolicy}')" \
    "1 1 6 NonIndexed false false TerminatingOrFailed Never" "create job: upstream defaults"
expect_eq "$(kubectl get job hello -o jsonpath='{.spec.selector.matchLabels.batch\.kubernetes\.io/controller-uid}')" \
    "$uid" "selector is the generated controller-uid"
expect_eq "$(kubectl get job hello -o jsonpath='{.spec.template.metadata.labels.batch\.kubernetes\.io/job-name} {.spec.template.metadata.labels.job-name} {.spec.template.metadata.labels.controller-uid}')" \
    "hello hello $uid" "template labels job-name, controller-uid (and legacy)"
expect_rc 0 "wait --for=condition=complete job/hello" -- \
    kubectl wait --for=condition=complete job/hello --timeout=40s
expect_eq "$(kubectl get job hello -o jsonpath='{.status.conditions[*].type}')" \
    "SuccessCriteriaMet Complete" "conditions SuccessCriteriaMet then Complete"
expect_eq "$(kubectl get job hello -o jsonpath='{.status.conditions[1].reason}|{.status.conditions[1].message}|{.status.succeeded}|{.status.ready}|{.status.terminating}')" \
    "CompletionsReached|Reached expected number of succeeded pods|1|0|0" "Complete reason, message, counters"
expect_match "$(kubectl get job hello -o jsonpath='{.status.startTime} {.status.completionTime}')" \
    '^20[0-9-]+T[0-9:]+Z 20[0-9-]+T[0-9:]+Z$' "startTime and completionTime"
pod=$(kubectl get pods -l job-name=hello -o jsonpath='{.items[0].metadata.name}')
expect_match "$pod" '^hello-[a-z0-9]{5}$' "pod generateName <job>-"
expect_eq "$(kubectl get pod "$pod" -o jsonpath='{.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].controller} {.metadata.ownerReferences[0].blockOwnerDeletion}')" \
    "Job true true" "pod owned by the Job (controller, blockOwnerDeletion)"

# ---- completions 3, parallelism 2 ----
cat <<Y >"$TEST_DIR/three.yaml"
apiVersion: batch/v1
kind: Job
metadata: {name: three}
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: work, image: test/job}]
Y
# Every change of a Job as a watch sees it: "three" must never have more than 2 active pods.
kubectl get jobs -w -o jsonpath='{.metadata.name} {.status.active}{"\n"}' >"$TEST_DIR/jobs.watch" 2>&1 &
KROLL_PIDS="$KROLL_PIDS $!"
kubectl apply -f "$TEST_DIR/three.yaml" >/dev/null
expect_eq "$(kubectl apply -f "$TEST_DIR/three.yaml" 2>&1)" "job.batch/three unchanged" \
    "re-apply: the generated selector and labels are no change"
expect_rc 0 "wait --for=condition=complete job/three" -- \
    kubectl wait --for=condition=complete job/three --timeout=60s
expect_match "$(kubectl get jobs --no-headers | grep '^three ')" '^three +Complete +3/3 +[0-9]+s +[0-9]+s$' \
    "get jobs row: Complete 3/3 duration age"
expect_match "$(kubectl get jobs | head -1)" '^NAME +STATUS +COMPLETIONS +DURATION +AGE$' "get jobs columns"
expect_match "$(kubectl get jobs -o wide | grep '^three ')" "work +test/job +batch.kubernetes.io/controller-uid=" \
    "-o wide: containers, images, selector"
expect_eq "$(kubectl get pods -l job-name=three --no-headers | wc -l)" 3 "three pods ran"
wait_for 10 "the watch saw three complete" -- grep -q '^three $' "$TEST_DIR/jobs.watch"
expect_eq "$(awk '$1 == "three" && $2 > 2' "$TEST_DIR/jobs.watch" | wc -l) $(awk '$1 == "three" && $2 == 2' "$TEST_DIR/jobs.watch" | wc -l | sed 's/^[1-9][0-9]*$/some/')" \
    "0 some" "parallelism 2: two active at a time, never more"
expect_eq "$(kubectl logs job/three 2>/dev/null)" "piece of work" "kubectl logs job/three"
desc=$(kubectl describe job three)
expect_match "$desc" 'Pods Statuses: +0 Active \(0 Ready\) / 3 Succeeded / 0 Failed' "describe: pod statuses"
expect_match "$desc" 'SuccessfulCreate +[0-9a-z]+ +job-controller +Created pod: three-' "describe: SuccessfulCreate events"
expect_match "$desc" 'Completed +[0-9a-z]+ +job-controller +Job completed' "describe: Completed event"
expect_match "$(kubectl get all -o name)" 'job.batch/three' "get all lists jobs"

# ---- backoffLimit 1: two failed pods fail the Job ----
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: broken}
spec:
  completions: 2
  parallelism: 2
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: work, image: test/fail}]
Y
expect_rc 0 "wait --for=condition=failed job/broken" -- \
    kubectl wait --for=condition=failed job/broken --timeout=60s
expect_eq "$(kubectl get job broken -o jsonpath='{.status.conditions[*].type}|{.status.conditions[1].reason}|{.status.conditions[1].message}|{.status.failed}')" \
    "FailureTarget Failed|BackoffLimitExceeded|Job has reached the specified backoff limit|2" \
    "FailureTarget then Failed, BackoffLimitExceeded"
expect_match "$(kubectl get job broken --no-headers)" '^broken +Failed +0/2 ' "get jobs: Failed 0/2"
expect_match "$(kubectl get events --field-selector involvedObject.name=broken,reason=BackoffLimitExceeded -o jsonpath='{.items[0].type}')" \
    Warning "BackoffLimitExceeded Warning event"

# ---- restartPolicy OnFailure: the pod restarts in place; restarts count toward backoffLimit ----
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: retry}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: OnFailure
      terminationGracePeriodSeconds: 1
      containers: [{name: work, image: test/fail}]
Y
expect_rc 0 "wait --for=condition=failed job/retry (OnFailure restarts)" -- \
    kubectl wait --for=condition=failed job/retry --timeout=40s
expect_eq "$(kubectl get job retry -o jsonpath='{.status.conditions[1].reason}')" BackoffLimitExceeded \
    "OnFailure: restarts reached backoffLimit"
expect_eq "$(kubectl get events --field-selector involvedObject.name=retry,reason=SuccessfulCreate -o name | wc -l)" 1 \
    "OnFailure: one pod, restarted in place"

# ---- activeDeadlineSeconds stops a sleeping Job ----
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: slow}
spec:
  activeDeadlineSeconds: 3
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [{name: work, image: test/sleep}]
Y
wait_for 20 "slow job's pod running" -- sh_eval \
    '[ "$(kubectl get pods -l job-name=slow -o jsonpath="{.items[0].status.phase}")" = Running ]'
expect_rc 0 "wait --for=condition=failed job/slow (deadline)" -- \
    kubectl wait --for=condition=failed job/slow --timeout=40s
expect_eq "$(kubectl get job slow -o jsonpath='{.status.conditions[1].reason}|{.status.conditions[1].message}|{.status.active}')" \
    "DeadlineExceeded|Job was active longer than specified deadline|" "DeadlineExceeded, no active pod"
expect_eq "$(kubectl get pods -l job-name=slow -o jsonpath='{.items[*].status.phase}' | grep -c Running)" 0 \
    "the sleeping pod was stopped"

# ---- ttlSecondsAfterFinished ----
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: brief}
spec:
  ttlSecondsAfterFinished: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers: [{name: work, image: test/job}]
Y
expect_rc 0 "wait --for=condition=complete job/brief" -- \
    kubectl wait --for=condition=complete job/brief --timeout=40s
wait_for 20 "ttl deletes the finished Job" -- sh_eval '! kubectl get job brief >/dev/null 2>&1'
wait_for 20 "and its pod" -- sh_eval '[ -z "$(kubectl get pods -l job-name=brief -o name)" ]'

# ---- bad specs: 422 with causes ----
bad() { # bad NAME SPEC-JSON: the Status of creating it
    api_curl /apis/batch/v1/namespaces/default/jobs -X POST -H 'Content-Type: application/json' \
        -d "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"$1\"},\"spec\":$2}"
}
tmpl='{"spec":{"containers":[{"name":"c","image":"test/job"}]}}'
st=$(bad b1 "{\"template\":$tmpl}")
expect_eq "$(jq -r '.code, .reason' <<<"$st" | tr '\n' ' ')" "422 Invalid " "no restartPolicy: 422 Invalid"
expect_eq "$(jq -r '.details.causes[0].field + ": " + .details.causes[0].message' <<<"$st")" \
    'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"' \
    "restartPolicy cause as upstream"
tmpl='{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"test/job"}]}}'
st=$(bad b2 "{\"parallelism\":-1,\"backoffLimit\":-2,\"template\":$tmpl}")
expect_eq "$(jq -r '[.details.causes[].field] | join(",")' <<<"$st")" "spec.parallelism,spec.backoffLimit" \
    "negative numbers refused"
st=$(bad b3 "{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":$tmpl}")
expect_match "$(jq -r '.message' <<<"$st")" 'spec.selector: Invalid value: .*`selector` not auto-generated' \
    "a selector without manualSelector refused"
out=$(kubectl patch job three --type=merge -p '{"spec":{"template":{"spec":{"activeDeadlineSeconds":5}}}}' 2>&1)
expect_match "$out" 'spec.template: Invalid value: .*field is immutable' "template immutable"
out=$(kubectl patch job three --type=merge -p '{"spec":{"template":{"metadata":{"labels":{"controller-uid":"x"}}}}}' 2>&1)
expect_match "$out" "spec.template.metadata.labels\\[controller-uid\\]: Invalid value: .*must be '[0-9a-f-]{36}'" \
    "generated labels checked on update"
out=$(kubectl patch job three --type=merge -p '{"spec":{"selector":{"matchLabels":{"x":"y"}}}}' 2>&1)
expect_match "$out" 'spec.selector: Invalid value: .*field is immutable' "selector immutable"

# ---- kubectl delete job takes its pods along ----
expect_rc 0 "kubectl delete job three" -- kubectl delete job three
wait_for 20 "three's pods deleted" -- sh_eval '[ -z "$(kubectl get pods -l job-name=three -o name)" ]'
finish
