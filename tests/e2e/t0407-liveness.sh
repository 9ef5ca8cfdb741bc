#!/usr/bin/env bash
# Checklist 37 and 38: a liveness probe that starts failing restarts the container within
# failureThreshold x periodSeconds (shortened here: 1 s x 3), with the Killing message
# "Container c failed liveness probe, will be restarted"; while a startup probe has not
# succeeded, liveness failures restart nothing; after it succeeds they do. Exec probes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t0403-node-lib.sh"
node_skip_checks
kroll_start
write_status_server
mksrvimage test/srv 8080
# Ends on SIGTERM also as PID 1 of a container (which the kernel shields from an unhandled one).
mkimage test/sleeper 'echo started; trap "exit 143" TERM; sleep 1000 & wait $!'
cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  volumes: $TVOL
  containers:
  - name: web
    image: test/srv
    volumeMounts: $TMNT
    livenessProbe:
      httpGet: {path: /file, port: 8080}
      periodSeconds: 1
      failureThreshold: 3
---
apiVersion: v1
kind: Pod
metadata: {name: startup}
spec:
  volumes: $TVOL
  containers:
  - name: app
    image: test/sleeper
    volumeMounts: $TMNT
    startupProbe:
      exec: {command: ["/bin/sh", "-c", "test -f $TSHARE/started"]}
      periodSeconds: 1
      failureThreshold: 60
    livenessProbe:
      exec: {command: ["/bin/sh", "-c", "echo not alive; exit 1"]}
      initialDelaySeconds: 3
      periodSeconds: 1
      failureThreshold: 3
Y
wait_for 20 "liveness pod Running" -- phase_is live Running
sleep 4
expect_eq "$(jp live '{.status.containerStatuses[0].restartCount}')" 0 "healthy: no restart"
echo 500 >"$TSHARE/status"
T0=$(now_s)
restarted() { [ "$(jp live '{.status.containerStatuses[0].restartCount}')" = 1 ]; }
wait_for 15 "liveness failure restarts the container" -- restarted
expect_range "$(secs_between "$T0" "$(now_s)")" 2 7 "restart ≈3 failed attempts after the change"
echo 200 >"$TSHARE/status"
ev=$(events_of live)
expect_match "$ev" 'Unhealthy\|Liveness probe failed: HTTP probe failed with statuscode: 500' "Unhealthy event"
expect_match "$ev" 'Killing\|Container web failed liveness probe, will be restarted' "Killing message"
expect_eq "$(jp live '{.status.containerStatuses[0].lastState.terminated.exitCode}')" 143 \
    "killed by SIGTERM (exit 143)"
sleep 2
rc1=$(jp live '{.status.containerStatuses[0].restartCount}')
sleep 4
expect_eq "$(jp live '{.status.containerStatuses[0].restartCount}')" "$rc1" "healthy again: no more restarts"

# Startup probe gates liveness.
wait_for 10 "startup pod Running" -- phase_is startup Running
sleep 5
expect_eq "$(jp startup '{.status.containerStatuses[0].restartCount}')" 0 \
    "failing liveness ignored while startup is pending"
expect_eq "$(jp startup '{.status.containerStatuses[0].started}')" false "started=false"
expect_eq "$(kubectl get events --field-selector involvedObject.name=startup,reason=Unhealthy -o name | wc -l)" 1 \
    "only the startup probe ran (one aggregated Unhealthy)"
expect_match "$(events_of startup)" 'Unhealthy\|Startup probe failed: ' "Startup probe failed event"
touch "$TSHARE/started"
started() { [ "$(jp startup '{.status.containerStatuses[0].started}')" = true ]; }
wait_for 5 "startup probe succeeds: started=true" -- started
srestart() { [ "$(jp startup '{.status.containerStatuses[0].restartCount}')" -ge 1 ]; }
wait_for 10 "then liveness restarts it" -- srestart
ev=$(events_of startup)
expect_match "$ev" 'Unhealthy\|Liveness probe failed: not alive' "exec probe output in the event"
expect_match "$ev" 'Killing\|Container app failed liveness probe, will be restarted' "Killing message"
finish
