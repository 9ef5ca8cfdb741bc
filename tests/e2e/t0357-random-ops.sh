#!/bin/bash
# t0357: e2e scenario 6 — twenty random operations (template edits, the legacy rollback
# annotation, scaling, pause/resume, pod deletions) still converge to a complete rollout with
# Progressing NewReplicaSetAvailable; the e2e helpers' invariants hold at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"

dl_images
kroll_start
RANDOM=${SEED:-4242}  # reproducible sequence; SEED=n tries another

dep_apply rnd 2 test/app:1 "  progressDeadlineSeconds: 30"
wait_for 30 "initial rollout complete" -- dep_complete rnd 2
ops=""
for i in $(seq 1 20); do
    case $((RANDOM % 5)) in
    0) kubectl set env deploy/rnd "ITER=$i" >/dev/null 2>&1; ops="$ops edit" ;;
    1) kubectl annotate deploy rnd --overwrite deprecated.deployment.rollback.to=0 >/dev/null 2>&1
       ops="$ops rollback-annotation" ;;
    2) kubectl scale deploy/rnd --replicas=$((RANDOM % 5)) >/dev/null 2>&1; ops="$ops scale" ;;
    3) if [ "$(dep_field rnd .spec.paused)" = true ]; then
           kubectl rollout resume deploy/rnd >/dev/null 2>&1; ops="$ops resume"
       else
           kubectl rollout pause deploy/rnd >/dev/null 2>&1; ops="$ops pause"
       fi ;;
    4) p=$(kubectl get pods -l app=rnd -o jsonpath='{.items[0].metadata.name}' 2>/dev/null)
       [ -n "$p" ] && kubectl delete pod "$p" --wait=false >/dev/null 2>&1; ops="$ops delete-pod" ;;
    esac
    sleep "0.$((RANDOM % 8))"
done
say "operations:$ops"
[ "$(dep_field rnd .spec.paused)" = true ] && kubectl rollout resume deploy/rnd >/dev/null
R=$(dep_field rnd .spec.replicas)
[ "$R" = 0 ] && { kubectl scale deploy/rnd --replicas=2 >/dev/null; R=2; }
wait_for 60 "scenario 6: converges to a complete rollout (R=$R)" -- dep_complete rnd "$R"
nra() { [ "$(dep_cond rnd Progressing reason)" = NewReplicaSetAvailable ]; }
wait_for 10 "scenario 6: Progressing reason NewReplicaSetAvailable" -- nra
rs_all=$(kubectl get rs -l app=rnd -o jsonpath='{range .items[*]}{.metadata.name}={.spec.replicas}={.spec.selector.matchLabels.pod-template-hash}{"\n"}{end}')
expect_eq "$(echo "$rs_all" | awk -F= '$3 == ""' | wc -l)" "0" "every RS selector has pod-template-hash"
expect_eq "$(echo "$rs_all" | awk -F= '$2 > 0' | wc -l)" "1" "only one RS has replicas"
live=$(echo "$rs_all" | awk -F= '$2 > 0 {print $1}')
expect_eq "$(dep_cond rnd Progressing message)" "ReplicaSet \"$live\" has successfully progressed." "the sized RS is the new one"
podsok() { [ "$(kubectl get pods -l app=rnd --no-headers | grep -v Terminating | grep -vc "^$live-")" = 0 ]; }
wait_for 20 "all live pods belong to the new RS" -- podsok
expect_eq "$(kubectl get deploy rnd -o jsonpath='{.status.replicas}/{.status.updatedReplicas}/{.status.availableReplicas}')" \
    "$R/$R/$R" "counters equal R"
finish
