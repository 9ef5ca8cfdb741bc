#!/bin/bash
# t1311: the AnalysisRun job provider (progressive-delivery.md 6.2, Argo's
# metricproviders/job): a busybox Job per measurement, named <run-uid>.<metric>.<n> (cut to 63
# characters), labelled with the run's uid, annotated with its name, namespace and metric,
# owned by the run, with the provider's metadata copied and {{args.x}} substituted in the
# spec. exit 0 -> Successful (two measurements at an interval, the older Job collected past
# measurementRetention); exit 1 -> Failed; terminate deletes a running Job (the measurement
# Inconclusive "Metric Terminated"), and so does a failing metric for the run's other Jobs;
# an image that cannot be found -> Inconclusive; deleting a run deletes its Jobs; a restarted
# server resumes a running measurement; a canary Rollout's analysis step with a job metric
# completes, and aborts the next update when its Job fails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"
node_skip_checks
dl_images
kroll_start
mkimage test/busybox 'exit 0'

# run NAME METRIC-YAML [SPEC-EXTRA-YAML]: creates an AnalysisRun with one metric.
run() {
    cat >"$TEST_DIR/run-$1.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: $1}
spec:
${3:-}
  metrics:
$2
YAML
    kubectl create -f "$TEST_DIR/run-$1.yaml" >/dev/null || fail "create run $1"
}
# job_metric NAME SCRIPT [IMAGE]: a job metric whose container runs sh -c SCRIPT.
job_metric() {
    cat <<YAML
  - name: $1
    provider:
      job:
        metadata: {labels: {team: qa}, annotations: {note: hello}}
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              terminationGracePeriodSeconds: 1
              containers: [{name: c, image: ${3:-test/busybox}, command: [/bin/sh, -c, '$2']}]
YAML
}
phase_is() { [ "$(kubectl get ar "$1" -o jsonpath='{.status.phase}')" = "$2" ]; }
field() { kubectl get ar "$1" -o jsonpath="$2"; }
uid_of() { kubectl get ar "$1" -o jsonpath='{.metadata.uid}'; }
jobs_of() { kubectl get jobs -l "analysisrun.argoproj.io/uid=$1" -o jsonpath='{.items[*].metadata.name}'; }

out=$(kubectl create -f - 2>&1 <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: bad}
spec:
  metrics:
  - {name: a, provider: {job: {metadata: {labels: {x: y}}}}}
  - {name: b, provider: {job: {spec: {backoffLimit: 0}}}}
YAML
)
expect_match "$out" 'spec.metrics\[0\].provider.job.spec: Required value' "a job provider without a spec is refused"
expect_match "$out" 'spec.metrics\[1\].provider.job.spec.template: Required value' "and one without a pod template"

run ok "$(job_metric m 'echo {{args.word}}; exit {{args.code}}')
    interval: 1s
    count: 2" "  args: [{name: code, value: \"0\"}, {name: word, value: 'say \"hi\"'}]
  measurementRetention: [{metricName: m, limit: 1}]"
run fail "$(job_metric a-metric-name-that-is-much-too-long-for-a-job 'exit {{args.code}}')" \
    "  args: [{name: code, value: \"1\"}]"
run long "$(job_metric m 'trap "exit 0" TERM; i=0; while [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done')"
run noimage "$(job_metric m 'exit 0' test/nosuch)"
run both "$(job_metric slow 'trap "exit 0" TERM; i=0; while [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done')
$(job_metric quick 'sleep 2; exit 1')"
uok=$(uid_of ok) ufail=$(uid_of fail) ulong=$(uid_of long)

# ---- exit 0, twice: Successful ----
wait_for 60 "exit 0: Successful after two measurements" -- phase_is ok Successful
expect_eq "$(field ok '{.status.metricResults[0].count}/{.status.metricResults[0].successful}/{.status.metricResults[0].measurements[*].phase}')" \
    "2/2/Successful" "two Successful measurements; measurementRetention 1 keeps the last"
expect_eq "$(field ok '{.status.metricResults[0].measurements[0].metadata.job-name} {.status.metricResults[0].measurements[0].metadata.job-namespace}')" \
    "$uok.m.2 default" "measurement metadata job-name and job-namespace"
wait_for 20 "the older Job is collected (retention 1)" -- sh_eval '[ "$(jobs_of "$uok")" = "$uok.m.2" ]'
j=$uok.m.2
expect_eq "$(kubectl get job "$j" -o jsonpath='{.metadata.ownerReferences[0].apiVersion}/{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].uid}/{.metadata.ownerReferences[0].controller}')" \
    "argoproj.io/v1alpha1/AnalysisRun/ok/$uok/true" "the Job is controlled by the run"
expect_eq "$(kubectl get job "$j" -o jsonpath='{.metadata.labels.analysisrun\.argoproj\.io/uid} {.metadata.labels.team}')" \
    "$uok qa" "labels: the run's uid and the provider's"
expect_eq "$(kubectl get job "$j" -o jsonpath='{.metadata.annotations.analysisrun\.argoproj\.io/name} {.metadata.annotations.analysisrun\.argoproj\.io/namespace} {.metadata.annotations.analysisrun\.argoproj\.io/metric-name} {.metadata.annotations.note}')" \
    "ok default m hello" "annotations: run name, namespace, metric, and the provider's"
expect_eq "$(kubectl get job "$j" -o jsonpath='{.spec.template.spec.containers[0].command[2]}')" \
    "echo say \"hi\"; exit 0" "args substituted (JSON-escaped) in the Job's command"
expect_eq "$(kubectl get job "$j" -o jsonpath='{.spec.template.metadata.labels.analysisrun\.argoproj\.io/uid}')" \
    "$uok" "the pod template carries the run's uid label"
expect_match "$(kubectl get jobs --no-headers)" "^$j +Complete +1/1 " "kubectl get jobs shows the run's Job Complete"
expect_eq "$(kubectl logs "job/$j")" "say hi" "the Job ran the substituted command"

# ---- exit 1: Failed; a long metric name is cut ----
wait_for 60 "exit 1 with failureLimit 0: Failed" -- phase_is fail Failed
expect_eq "$(field fail '{.status.message}')" \
    "Metric \"a-metric-name-that-is-much-too-long-for-a-job\" assessed Failed due to failed (1) > failureLimit (0)" \
    "Argo's run message"
jf=$(jobs_of "$ufail")
expect_eq "${#jf}/$jf" "63/$ufail.a-metric-name-that-is-mu.1" "a long metric name is cut to fit 63 characters"
expect_eq "$(field fail '{.status.metricResults[0].measurements[0].phase}/{.status.metricResults[0].measurements[0].metadata.job-name}')" \
    "Failed/$jf" "the measurement is Failed and names the Job"
expect_eq "$(kubectl get job "$jf" -o jsonpath='{.status.conditions[?(@.type=="Failed")].reason}')" \
    "BackoffLimitExceeded" "the Job failed on its backoffLimit"

# ---- an image that cannot be had: Inconclusive ----
wait_for 60 "an image that cannot be pulled: Inconclusive" -- phase_is noimage Inconclusive
expect_match "$(field noimage '{.status.metricResults[0].measurements[0].message}')" \
    '^Pod [^ ]+, container c has terminal error \((ErrImagePull|ImagePullBackOff)\)' "Argo's terminal error message"
wait_for 30 "the stuck Job is deleted (its template cannot change)" -- sh_eval '[ -z "$(jobs_of "$(uid_of noimage)")" ]'

# ---- terminate stops a long Job ----
jl=$ulong.m.1
wait_for 30 "a long Job runs" -- sh_eval '[ "$(kubectl get pods -l "job-name=$jl" -o jsonpath="{.items[0].status.phase}")" = Running ]'
expect_eq "$(field long '{.status.phase}/{.status.metricResults[0].measurements[0].phase}/{.status.metricResults[0].measurements[0].metadata.job-name}')" \
    "Running/Running/$jl" "while the Job runs, so does the measurement"
kubectl patch ar long --type merge -p '{"spec":{"terminate":true}}' >/dev/null
wait_for 30 "terminate: the run ends Inconclusive (as Argo's terminated job)" -- phase_is long Inconclusive
expect_eq "$(field long '{.status.metricResults[0].measurements[0].phase}/{.status.metricResults[0].measurements[0].message}')" \
    "Inconclusive/Metric Terminated" "the measurement: Inconclusive, Metric Terminated"
wait_for 30 "terminate deleted the running Job and its pod" -- \
    sh_eval '[ -z "$(jobs_of "$ulong")" ] && [ -z "$(kubectl get pods -l "job-name=$jl" -o name)" ]'

# ---- a metric that fails ends the run and stops the other metric's Job ----
wait_for 60 "one metric Failed: the run is Failed" -- phase_is both Failed
expect_eq "$(field both '{.status.message}')" \
    'Metric "quick" assessed Failed due to failed (1) > failureLimit (0)' "the message names the cause"
expect_eq "$(field both '{.status.metricResults[0].name}/{.status.metricResults[0].measurements[0].phase}/{.status.metricResults[0].measurements[0].message}')" \
    "slow/Inconclusive/Metric Terminated" "the other metric's running Job is terminated"
wait_for 30 "its Job is deleted" -- sh_eval '[ "$(jobs_of "$(uid_of both)")" = "$(uid_of both).quick.1" ]'

# ---- deleting a run deletes its Jobs ----
expect_eq "$(jobs_of "$uok")" "$uok.m.2" "before: the run's Job"
kubectl delete ar ok >/dev/null
wait_for 30 "deleting the run deletes its Jobs and their pods" -- \
    sh_eval '[ -z "$(jobs_of "$uok")" ] && [ -z "$(kubectl get pods -l "job-name=$uok.m.2" -o name)" ]'
expect_eq "$(jobs_of "$ufail")" "$jf" "another run's Job stays"

# ---- a restarted server resumes a running measurement from the run's status ----
run restart "$(job_metric m 'sleep 4; exit 0')"
jr=$(uid_of restart).m.1
wait_for 30 "a Job runs" -- sh_eval '[ "$(kubectl get pods -l "job-name=$jr" -o jsonpath="{.items[0].status.phase}")" = Running ]'
kroll_stop
kroll_start
wait_for 60 "after a restart the run still ends Successful" -- phase_is restart Successful
expect_eq "$(field restart '{.status.metricResults[0].count}/{.status.metricResults[0].measurements[0].metadata.job-name}')" \
    "1/$jr" "one measurement, the same Job"

# ---- a canary Rollout whose analysis step runs a Job ----
kubectl apply -f - >/dev/null <<'YAML' || fail "apply the template"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: smoke}
spec:
  args: [{name: hash}, {name: code, value: "0"}]
  metrics:
  - name: smoke
    provider:
      job:
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers: [{name: c, image: test/busybox, command: [/bin/sh, -c, 'echo testing {{args.hash}}; exit {{args.code}}']}]
YAML
STRAT='    canary:
      steps:
      - setWeight: 50
      - analysis:
          templates: [{templateName: smoke}]
          args: [{name: hash, valueFrom: {podTemplateHashValue: Latest}}]'
ro_manifest demo 2 test/app:1 "$STRAT" | kubectl apply -f - >/dev/null
wait_for 60 "initial deploy Healthy" -- ro_is demo Healthy/
ro_image demo test/app:2
wait_for 90 "the analysis Job passes and the rollout completes" -- ro_is demo Healthy/
h2=$(ro_field demo .status.currentPodHash)
ar=demo-$h2-2-1
expect_eq "$(field "$ar" '{.status.phase}')" "Successful" "the step's run $ar is Successful"
jr=$(field "$ar" '{.status.metricResults[0].measurements[0].metadata.job-name}')
expect_eq "$jr" "$(uid_of "$ar").smoke.1" "the step's run measured with a Job"
expect_eq "$(kubectl logs "job/$jr")" "testing $h2" "the new pod hash reached the Job's command"
kubectl patch at smoke --type json -p '[{"op":"replace","path":"/spec/args/1/value","value":"1"}]' >/dev/null
ro_image demo test/app:3
aborted() {
    ro_is demo "Degraded/RolloutAborted: Rollout aborted update to revision 3: Step-based analysis phase error/failed: Metric \"smoke\" assessed Failed due to failed (1) > failureLimit (0)"
}
wait_for 90 "a failing Job aborts the next update" -- aborted
expect_eq "$(ro_field demo .status.stableRS)" "$h2" "the stable revision stays"
finish
