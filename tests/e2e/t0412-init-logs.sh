#!/usr/bin/env bash
# Init containers run one at a time, in order, before the app (STATUS Init:N/M, Initialized);
# a failing init container is retried; `kubectl logs --previous` shows the instance before a
# restart while `kubectl logs` shows the current one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
node_skip_checks
kroll_start
mkimage test/step 'echo "$STEP $(now)" >>$T/order; sleep 1'
mkimage test/flaky 'if [ ! -f $T/flaky ]; then touch $T/flaky; echo "flaky fails" ; exit 3; fi; echo "flaky $(now)" >>$T/order'
mkimage test/app 'n=$(cat $T/runs 2>/dev/null || echo 0); n=$((n+1)); echo $n >$T/runs;
echo "app $(now)" >>$T/order; echo "instance $n"; if [ $n = 1 ]; then exit 1; fi; exec sleep 1000'
kubectl get pods -w --no-headers >"$TEST_DIR/watch.out" 2>&1 &
KROLL_PIDS="$KROLL_PIDS $!"
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: inits}
spec:
  volumes: $TVOL
  initContainers:
  - {name: one, image: test/step, env: [{name: STEP, value: one}], volumeMounts: $TMNT}
  - {name: two, image: test/flaky, volumeMounts: $TMNT}
  - {name: three, image: test/step, env: [{name: STEP, value: three}], volumeMounts: $TMNT}
  containers:
  - {name: app, image: test/app, volumeMounts: $TMNT}
Y
apprun() { [ "$(jp inits '{.status.containerStatuses[0].restartCount}')" = 1 ] && phase_is inits Running; }
wait_for 40 "app running after the init containers (and one restart)" -- apprun
expect_eq "$(awk '{ print $1 }' "$TSHARE/order" | tr '\n' ' ')" "one flaky three app app " \
    "init containers in order, then the app"
expect_eq "$(jp inits '{.status.initContainerStatuses[*].state.terminated.reason}')" \
    "Completed Completed Completed" "init containers Completed"
expect_eq "$(jp inits '{.status.initContainerStatuses[1].restartCount}')" 1 "failed init container retried"
expect_eq "$(jp inits '{.status.conditions[?(@.type=="Initialized")].status}')" True "Initialized"
st=$(awk '$1 == "inits" { print $3 }' "$TEST_DIR/watch.out" | uniq | tr '\n' ' ')
expect_match "$st" 'Init:0/3 .*Init:1/3 .*Init:2/3 .*Running' "STATUS Init:0/3 -> Init:1/3 -> Init:2/3 -> Running ($st)"
expect_eq "$(kubectl logs inits)" "instance 2" "logs: current instance"
expect_eq "$(kubectl logs inits --previous)" "instance 1" "logs --previous: the instance before"
expect_eq "$(kubectl logs inits -c two --previous 2>&1)" "flaky fails" "logs of an init container's previous run"
finish
