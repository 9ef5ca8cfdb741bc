#!/bin/bash
# t1310: argoproj.io/v1alpha1 analysis kinds with real kubectl: discovery (short names at, cat,
# ar; ClusterAnalysisTemplate cluster-scoped; no categories), `kubectl get ar` columns as Argo's
# CRD prints them, and validation with field causes (names, providers, durations, counts, args).
. "$(dirname "$0")/lib.sh"

kroll_start
agg=$(api_curl /apis -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList')
expect_eq "$(jq -r '.items[] | select(.metadata.name=="argoproj.io") | .versions[0].version' <<<"$agg")" \
    "v1alpha1" "argoproj.io v1alpha1 in aggregated discovery"
leg=$(api_curl /apis/argoproj.io/v1alpha1)
expect_eq "$(jq -r '[.resources[] | select(.name|test("analysis")) | "\(.name):\(.shortNames[0]):\(.namespaced)"] | sort | join(" ")' <<<"$leg")" \
    "analysisruns:ar:true analysistemplates:at:true clusteranalysistemplates:cat:false" \
    "legacy discovery: short names and scopes"
expect_eq "$(jq -r '[.resources[] | select(.name|test("analysis")) | .categories // [] | length] | add' <<<"$leg")" \
    "0" "no categories (as Argo's CRDs)"
expect_eq "$(api_curl /openapi/v3/apis/argoproj.io/v1alpha1 | jq -r '[.paths[].patch."x-kubernetes-group-version-kind".kind | select(test("Analysis"))] | sort | join(",")')" \
    "AnalysisRun,AnalysisTemplate,ClusterAnalysisTemplate" "openapi v3 declares the kinds"
for sn in at cat ar; do expect_rc 0 "kubectl get $sn" -- kubectl get "$sn"; done

cat >"$TEST_DIR/at.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: ok-tmpl}
spec:
  args: [{name: url}, {name: count, value: "3"}]
  metrics:
  - name: web
    interval: 1s
    count: "{{args.count}}"
    successCondition: result.ok == true
    provider: {web: {url: "{{args.url}}", jsonPath: "{$}"}}
---
apiVersion: argoproj.io/v1alpha1
kind: ClusterAnalysisTemplate
metadata: {name: ok-cluster}
spec:
  metrics:
  - name: q
    provider: {prometheus: {address: "http://127.0.0.1:1", query: "up"}}
YAML
expect_rc 0 "apply a template and a cluster template" -- kubectl apply -f "$TEST_DIR/at.yaml"
expect_eq "$(kubectl get cat ok-cluster -o jsonpath='{.metadata.namespace}')" "" "cat is cluster-scoped"
expect_eq "$(kubectl get at -o custom-columns=N:.metadata.name --no-headers)" "ok-tmpl" "kubectl get at"
expect_match "$(kubectl get at 2>&1 | head -1)" '^NAME +AGE$' "kubectl get at prints NAME AGE"

cat >"$TEST_DIR/bad.yaml" <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: bad}
spec:
  args: [{name: a}, {name: a}]
  metrics:
  - name: m
    interval: 5 minutes
    count: 3
    provider: {}
  - name: m
    count: 2
    failureLimit: 3
    provider: {web: {url: "ftp://x"}, prometheus: {query: "up"}}
YAML
out=$(kubectl apply -f "$TEST_DIR/bad.yaml" 2>&1)
expect_match "$out" 'spec.metrics\[0\].interval: Invalid value: "5 minutes"' "bad interval refused with its path"
expect_match "$out" 'spec.metrics\[0\].provider: Required value' "missing provider refused"
expect_match "$out" 'spec.metrics\[1\].name: Duplicate value: "m"' "duplicate metric name refused"
expect_match "$out" 'spec.metrics\[1\].count: Invalid value: 2: more than one measurement' "count > 1 without interval refused"
expect_match "$out" 'spec.metrics\[1\].provider: Forbidden: multiple providers' "two providers refused"
expect_match "$out" 'spec.metrics\[1\].provider.web.url: Invalid value' "non-http url refused"
expect_match "$out" 'spec.args\[1\].name: Duplicate value: "a"' "duplicate arg refused"
expect_rc 1 "an AnalysisRun without metrics is refused" -- kubectl create -f - <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: empty}
spec: {metrics: []}
YAML
finish
