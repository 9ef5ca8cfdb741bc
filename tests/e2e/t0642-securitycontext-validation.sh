#!/bin/bash
# securityContext validation as the API server does it, seen through real kubectl: negative or
# too large ids, seccompProfile types and localhostProfile rules, procMount and
# fsGroupChangePolicy values, allowPrivilegeEscalation: false with privileged or CAP_SYS_ADMIN,
# shareProcessNamespace with hostPID;
# each refused with a 422 whose causes carry the field paths, and nothing is stored. A pod with
# a valid securityContext is accepted, and a Deployment's template is checked the same way.
. "$(dirname "$0")/lib.sh"
kroll_start

# bad_pod NAME 'YAML lines under spec:' REGEX WHAT: kubectl apply must fail with REGEX.
bad_pod() {
    local name=$1 body=$2 want=$3 what=$4 out
    out=$(printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n%s\n' "$name" "$body" |
          kubectl apply -f - 2>&1 | tr "\n" " ")
    expect_match "$out" "$want" "$what"
    expect_eq "$(kubectl get pod "$name" -o name 2>/dev/null)" "" "$what: nothing stored"
}
C='  containers:
  - name: c
    image: test/none:1'

bad_pod neg-user "$C
    securityContext: {runAsUser: -1}" \
    'spec.containers\[0\].securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive' \
    "container runAsUser < 0"
bad_pod big-group "$C
    securityContext: {runAsGroup: 2147483648}" \
    'spec.containers\[0\].securityContext.runAsGroup: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive' \
    "container runAsGroup >= 2^31"
bad_pod pod-ids "  securityContext: {runAsUser: -5, fsGroup: -1, supplementalGroups: [1, -2]}
$C" \
    'spec.securityContext.runAsUser: Invalid value: -5.*spec.securityContext.fsGroup: Invalid value: -1.*spec.securityContext.supplementalGroups\[1\]: Invalid value: -2' \
    "pod runAsUser, fsGroup and supplementalGroups < 0, all reported"
bad_pod share-hostpid "  shareProcessNamespace: true
  hostPID: true
$C" \
    'spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled' \
    "shareProcessNamespace with hostPID"
bad_pod sc-type "$C
    securityContext: {seccompProfile: {type: Strict}}" \
    'spec.containers\[0\].securityContext.seccompProfile.type: Unsupported value: "Strict": supported values: "Localhost", "RuntimeDefault", "Unconfined"' \
    "seccompProfile type outside the three"
bad_pod sc-notype "  securityContext: {seccompProfile: {localhostProfile: a.json}}
$C" \
    'spec.securityContext.seccompProfile.type: Required value: type is required when seccompProfile is set' \
    "seccompProfile without type"
bad_pod sc-nolocal "$C
    securityContext: {seccompProfile: {type: Localhost}}" \
    'spec.containers\[0\].securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost' \
    "Localhost without localhostProfile"
bad_pod sc-abs "$C
    securityContext: {seccompProfile: {type: Localhost, localhostProfile: /etc/x.json}}" \
    'localhostProfile: Invalid value: "/etc/x.json": must be a relative path' \
    "absolute localhostProfile"
bad_pod sc-dotdot "$C
    securityContext: {seccompProfile: {type: Localhost, localhostProfile: profiles/../../x.json}}" \
    "localhostProfile: Invalid value: \"profiles/../../x.json\": must not contain '..'" \
    "localhostProfile with .."
bad_pod sc-extra "$C
    securityContext: {seccompProfile: {type: RuntimeDefault, localhostProfile: x.json}}" \
    'localhostProfile: Invalid value: .*can only be set when seccomp type is Localhost' \
    "localhostProfile with RuntimeDefault"
bad_pod priv-ape "$C
    securityContext: {privileged: true, allowPrivilegeEscalation: false}" \
    'spec.containers\[0\].securityContext: Invalid value: .*cannot set `allowPrivilegeEscalation` to false and `privileged` to true' \
    "privileged with allowPrivilegeEscalation: false"
bad_pod admin-ape "  initContainers:
  - name: i
    image: test/none:1
    securityContext: {allowPrivilegeEscalation: false, capabilities: {add: [NET_ADMIN, CAP_SYS_ADMIN]}}
$C" \
    'spec.initContainers\[0\].securityContext: Invalid value: .*cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN' \
    "CAP_SYS_ADMIN added with allowPrivilegeEscalation: false (init container)"
bad_pod procmount "$C
    securityContext: {procMount: Raw}" \
    'procMount: Unsupported value: "Raw": supported values: "Default", "Unmasked"' \
    "procMount outside Default/Unmasked"
bad_pod fsgcp "  securityContext: {fsGroupChangePolicy: Sometimes}
$C" \
    'spec.securityContext.fsGroupChangePolicy: Unsupported value: "Sometimes": supported values: "Always", "OnRootMismatch"' \
    "fsGroupChangePolicy outside Always/OnRootMismatch"

# The 422 Status carries one cause per error, with its field path.
status=$(printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"st"},"spec":{"securityContext":{"runAsUser":-1},"containers":[{"name":"c","image":"x:1","securityContext":{"privileged":true,"allowPrivilegeEscalation":false,"seccompProfile":{"type":"Localhost"}}}]}}' |
    api_curl /api/v1/namespaces/default/pods -X POST -H 'Content-Type: application/json' --data-binary @- -w '\n%{http_code}')
expect_eq "$(echo "$status" | tail -1)" 422 "the API answers 422"
expect_eq "$(echo "$status" | head -n -1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["reason"], sorted(c["field"] for c in d["details"]["causes"]))')" \
    "Invalid ['spec.containers[0].securityContext', 'spec.containers[0].securityContext.seccompProfile.localhostProfile', 'spec.securityContext.runAsUser']" \
    "details.causes name every field"

# Valid: accepted. Upstream does not check capability names, so neither does kroll.
out=$(kubectl apply -f - 2>&1 <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: good}
spec:
  securityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000, supplementalGroups: [3000],
                    seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: test/none:1
    securityContext:
      runAsNonRoot: true
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL], add: [NET_BIND_SERVICE, NOT_A_REAL_CAP]}
      seccompProfile: {type: Localhost, localhostProfile: profiles/audit.json}
Y
)
expect_match "$out" 'pod/good created' "a valid securityContext is accepted"

# Workload templates go through the same checks.
out=$(kubectl create deployment d --image=test/none:1 --dry-run=client -o json |
      python3 -c 'import json,sys; d=json.load(sys.stdin); d["spec"]["template"]["spec"]["containers"][0]["securityContext"]={"runAsUser":-1}; print(json.dumps(d))' |
      kubectl apply -f - 2>&1)
expect_match "$out" 'spec.template.spec.containers\[0\].securityContext.runAsUser: Invalid value: -1' "a Deployment template is validated too"
finish
