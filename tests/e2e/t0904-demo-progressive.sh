#!/bin/bash
# t0904: `kroll demo --progressive` (setup and the progressive-delivery phases, as `make
# demo-progressive` runs them): a canary Rollout 20% -> 50% -> 100% gated by
# request-success-rate with no failed request, a bad canary the analysis aborts (its failed
# requests reported, not zero-downtime), a blue/green Rollout promoted after its pre-promotion
# analysis with no failed request; the summary and the report, whose Rollouts lane draws each
# update's weight steps and each analysis run's measurements and outcome; nothing left running.
. "$(dirname "$0")/lib.sh"

IMAGES=$KROLL_BUILD/examples/images
[ -f "$IMAGES/images.txt" ] || { say "SKIP: no model-server images in $IMAGES"; exit 0; }
unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }
trap 'rc=$?; "$KROLL_BIN" stop --data-dir "$KROLL_DATA" >/dev/null 2>&1; (exit $rc); cleanup' EXIT

expect_rc 2 "an unknown phase is refused" -- "$KROLL_BIN" demo --only canary,nosuch
start=$(date +%s)
timeout 360 "$KROLL_BIN" demo --progressive --plain --rate 50 --data-dir "$KROLL_DATA" --images "$IMAGES" \
    >"$TEST_DIR/demo.out" 2>&1
rc=$?
secs=$(($(date +%s) - start))
out=$(cat "$TEST_DIR/demo.out")
[ "$rc" = 0 ] || tail -n 80 "$TEST_DIR/demo.out"
expect_eq "$rc" 0 "kroll demo --progressive exits 0"
say "demo --progressive took ${secs}s"
for p in canary bluegreen-analysis; do
    expect_match "$out" "^\* $p +[0-9.]+s +[1-9][0-9]* +0 " "zero-downtime phase $p: requests served, 0 failed"
done
expect_match "$out" "^  canary-abort +[0-9.]+s +[1-9][0-9]* +[1-9]" "canary-abort: not zero-downtime, its failed requests shown"
expect_match "$out" 'the bad canary cost [1-9][0-9]* failed of [0-9]+ requests' "the abort's cost reported"
say "$(grep -o 'the bad canary cost [0-9]* failed of [0-9]* requests' "$TEST_DIR/demo.out" | head -1)"
expect_match "$out" 'Degraded: .*request-success-rate' "the abort names the failed metric"
if grep -Eq '^[* ] (rolling-update|pause-resume|rollback|blue-green|drain|gpu-surge|autoscale) ' "$TEST_DIR/demo.out"; then
    fail "only the progressive phases ran"
else
    pass "only the progressive phases ran"
fi
expect_match "$out" 'Zero-downtime phases \(canary, bluegreen-analysis\): [0-9]+ requests served, 0 failed: PASS' \
    "summary: the zero-downtime phases pass"
report=$(sed -n 's/^report: \(.*\) (open it in a browser)$/\1/p' "$TEST_DIR/demo.out")
[ -f "$report" ] && expect_match "$(cat "$report")" 'canary-abort' "the report lists the phases" ||
    fail "report missing"

# The report's Rollouts lane: each update's weight as a step line (data-steps: the weights in
# order) and each AnalysisRun's measurements and outcome as markers, by the phase they fall in.
html=$(cat "$report" 2>/dev/null)
weights() { # weights ROLLOUT PHASE: the data-steps of that update's step line
    printf '%s\n' "$html" | grep -o "<polyline class='weight' data-rollout='$1' data-demo-phase='$2'[^>]*" |
        sed -n "s/.*data-steps='\([^']*\)'.*/\1/p" | head -n 1
}
marks() { # marks KIND PHASE OUTCOME: how many markers
    printf '%s\n' "$html" | grep -c "<circle class='am $3' data-kind='$1' data-demo-phase='$2'"
}
say "weights: canary [$(weights canary-web canary)], canary-abort [$(weights canary-web canary-abort)]," \
    "bluegreen [$(weights bg-web bluegreen-analysis)]"
expect_match "$(weights canary-web canary)" '^20( [0-9]+)* 50( [0-9]+)* 100$' \
    "canary: the weight steps 20 -> 50 -> 100"
expect_match "$(weights canary-web canary-abort)" '^20( [0-9]+)* 0$' \
    "bad canary: the weight steps to 20, then back to 0 at the abort"
expect_eq "$(weights bg-web bluegreen-analysis)" "0 100" "blue/green: 0 until promotion, then 100"
say "analysis markers: canary $(marks run canary Successful) runs ok," \
    "$(marks measurement canary Successful) measurements ok;" \
    "canary-abort $(marks run canary-abort Failed) runs failed, $(marks measurement canary-abort Failed) measurements failed"
expect_eq "$(marks run canary Successful)" "2" "canary: both step analyses are Successful markers"
expect_eq "$(marks run canary Failed)$(marks measurement canary Failed)" "00" "canary: no Failed marker"
expect_eq "$(marks run canary-abort Failed)" "1" "bad canary: its analysis run is a Failed marker"
[ "$(marks measurement canary-abort Failed)" -ge 1 ] && pass "bad canary: Failed measurements drawn" ||
    fail "bad canary: no Failed measurement marker"
expect_match "$html" "<title>canary-web-[^<]* / [a-z-]+: Failed at [0-9]+s, value \\[?0\.[0-9]" \
    "a Failed measurement's title carries its value"
[ "$(marks run bluegreen-analysis Successful)" -ge 1 ] && pass "blue/green: pre-promotion analysis Successful" ||
    fail "blue/green: no Successful run marker"
expect_match "$html" "<h2>Analysis runs</h2>" "the report lists the analysis runs"
finish
