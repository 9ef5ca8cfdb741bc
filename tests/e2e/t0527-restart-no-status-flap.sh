#!/usr/bin/env bash
# kill -9 of the server and a restart re-adopt running pods without rewriting their status.
# Before, the first sync of a pod being re-adopted wrote it as waiting and unready (the
# endpoints controller then dropped it from its Service: 503s at the proxy), and the shim's
# nanosecond startedAt replaced the kubelet's seconds, so every restart rewrote every pod.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }
dl_images
kroll_start
dep_apply app 3 test/app:1
wait_for 60 "3 pods ready" -- dep_complete app 3
sleep 2 # let the last status writes of the start land
snap() { # name rv ready startedAt, one line per pod
    kubectl get pods -l app=app -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.resourceVersion} {.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[0].state.running.startedAt}{"\n"}{end}'
}
before=$(snap)
for k in 1 2; do
    kill -9 "$KROLL_SERVER_PID"; wait "$KROLL_SERVER_PID" 2>/dev/null
    n0=$(grep -c 're-adopted running pod' "$TEST_DIR/server.log")
    kroll_start
    wait_for 30 "restart $k: 3 pods re-adopted" -- \
        sh_eval 'test $(( $(grep -c "re-adopted running pod" "$TEST_DIR/server.log") - n0 )) -ge 3'
    sleep 3 # a write after adoption would land well within this
    expect_eq "$(snap)" "$before" "restart $k: no pod status was rewritten (same resourceVersions, Ready, startedAt)"
done
expect_match "$(snap | awk '{print $3}' | sort -u | tr '\n' ' ')" '^True $' "all pods still Ready"
finish
