#!/bin/bash
# t0901: `kroll demo` end to end, as `make demo` runs it: exit 0, every phase in the summary,
# zero failed requests in each zero-downtime phase, the HTML report with its SVG timeline, the
# real kubectl commands in the output, and nothing left running afterwards.
. "$(dirname "$0")/lib.sh"

IMAGES=$KROLL_BUILD/examples/images
[ -f "$IMAGES/images.txt" ] || { say "SKIP: no model-server images in $IMAGES"; exit 0; }
unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }
# Processes whose command line or executable is under the demo's data dir (server, proxy,
# shims, and the model servers, whose binaries live in its image store).
leftovers() {
    local p e c
    for p in /proc/[0-9]*; do
        e=$(readlink "$p/exe" 2>/dev/null); c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")
        case "$e $c" in *"$KROLL_DATA"*) echo "${p#/proc/}:${c:0:60}" ;; esac
    done
}
trap 'rc=$?; "$KROLL_BIN" stop --data-dir "$KROLL_DATA" >/dev/null 2>&1; (exit $rc); cleanup' EXIT

start=$(date +%s)
timeout 300 "$KROLL_BIN" demo --data-dir "$KROLL_DATA" --images "$IMAGES" >"$TEST_DIR/demo.out" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
out=$(cat "$TEST_DIR/demo.out")
[ "$rc" = 0 ] || tail -n 60 "$TEST_DIR/demo.out"
expect_eq "$rc" 0 "kroll demo exits 0"
say "demo took ${secs}s"
# About 4 minutes on a quiet 2-core machine; the bound leaves room for a loaded CI runner.
[ "$secs" -lt 420 ] && pass "finished under 7 minutes (${secs}s)" || fail "took ${secs}s"
expect_match "$out" '^Summary \(\* = zero-downtime phase' "summary printed"
for p in rolling-update pause-resume rollback bad-release blue-green config-rotation autoscale drain-blocked; do
    expect_match "$out" "^\* $p +[0-9.]+s +[1-9][0-9]* +0 " "zero-downtime phase $p: requests served, 0 failed"
done
for p in setup drain-allowed gpu-surge; do
    expect_match "$out" "^  $p +[0-9.]+s " "phase $p in the summary"
done
expect_match "$out" 'Zero-downtime phases \(rolling-update, pause-resume, rollback, bad-release, blue-green, config-rotation, autoscale, drain-blocked\): [0-9]+ requests served, 0 failed: PASS' \
    "summary names the zero-downtime phases and passes"
expect_match "$out" 'drain-allowed +[0-9.]+s +[0-9]+ +[1-9]' "the finished drain of the only node does fail requests (shown, not hidden)"
# The steps are real kubectl commands, printed as typed.
expect_match "$out" '\$ kubectl set image deploy/model-serving server=myrepo/tf-serving:1.0.4' "prints kubectl set image"
expect_match "$out" '\$ kubectl rollout undo deployment model-serving --to-revision=[0-9]+' "prints undo --to-revision"
expect_match "$out" 'exceeded its progress deadline' "bad release: ProgressDeadlineExceeded"
expect_match "$out" 'Cannot evict pod as it would violate the pod.s disruption budget' "drain: 429 refusal shown"
expect_match "$out" 'Insufficient nvidia.com/gpu' "GPU: surge pod Pending for lack of GPUs"
expect_match "$out" 'config-rotation .*1\.0\.3 cfg v1 [0-9]+%, 1\.0\.3 cfg v2 [0-9]+%' "Project 2: both configs answered in the config phase"
expect_match "$out" 'SuccessfulRescale .*New size: [56]; reason: pods metric http_requests_per_second above target' "autoscale: the HPA scaled out on the proxy's requests per second"
report=$(sed -n 's/^report: \(.*\) (open it in a browser)$/\1/p' "$TEST_DIR/demo.out")
expect_eq "$report" "$KROLL_DATA/demo-report.html" "report named in the output"
if [ -f "$report" ]; then
    html=$(cat "$report")
    expect_match "$html" '<svg xmlns=.http://www.w3.org/2000/svg.' "report contains an inline SVG"
    expect_match "$html" '<polygon fill=' "SVG has the replica areas"
    expect_match "$html" 'Requests per second through the Service' "SVG has the request panel"
    expect_match "$html" 'no failed request \(PASS\)' "report states the verdict"
    if grep -Eq '(src|href)=.(https?:)?//' "$report"; then fail "report fetches something"; else pass "report is self-contained"; fi
else
    fail "report file $report missing"
fi
sleep 1
expect_eq "$(leftovers | xargs)" "" "no process of the demo left running"
finish
