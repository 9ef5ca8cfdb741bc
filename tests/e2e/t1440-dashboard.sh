#!/bin/bash
# t1440: the live dashboard (issue 14). `kroll dashboard` prints the page's URL and login link;
# the page is served without a token and names no external URL; headless Chromium on the login
# link shows the Deployment, its ReplicaSets and pods; the page's own action code (driven by its
# test hook, the same function the confirmed button calls) pauses, resumes and undoes the
# Deployment through the API; without a token the page shows the 401 message. Writes
# dashboard.png to the test dir. Skips when Chromium is missing and cannot be installed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
. "$(dirname "$0")/rollout-lib.sh"

if ! command -v chromium >/dev/null 2>&1; then
    "$KROLL_SRC/scripts/install-deps.sh" --test >"$TEST_DIR/deps.out" 2>&1
fi
if ! command -v chromium >/dev/null 2>&1; then
    say "SKIP: chromium is not installed and could not be installed ($(tail -n 1 "$TEST_DIR/deps.out"))"
    exit 0
fi

dl_images
kroll_start
dep_manifest web 2 test/app:1 | kubectl apply -f - >/dev/null
wait_for 60 "web rolled out at revision 1" -- kubectl rollout status deploy/web --timeout=2s
kubectl set image deploy/web app=test/app:2 >/dev/null
wait_for 60 "web rolled out at revision 2" -- kubectl rollout status deploy/web --timeout=2s

out=$("$KROLL_BIN" dashboard --data-dir "$KROLL_DATA")
say "$(printf '%s\n' "$out" | head -n 1)"
url=$(printf '%s\n' "$out" | sed -n 's/^Dashboard: *//p')
link=$(printf '%s\n' "$out" | sed -n 's/^Login link: *//p')
expect_eq "$url" "https://127.0.0.1:$KROLL_PORT/dashboard/" "kroll dashboard prints the URL"
expect_eq "$link" "$url#token=$KROLL_TOKEN" "the login link carries the token in the fragment"

# The page: no token needed, HTML with a CSP that keeps it talking to this server only.
curl -sS --cacert "$KROLL_DATA/pki/ca.crt" -D "$TEST_DIR/page.hdr" -o "$TEST_DIR/page.html" "$url"
expect_match "$(head -n 1 "$TEST_DIR/page.hdr")" " 200" "the page is served without a token"
expect_match "$(grep -i '^content-security-policy' "$TEST_DIR/page.hdr")" "connect-src 'self'" \
    "the page may connect to this server only"
expect_eq "$(grep -Eic '(https?|wss?|ftp):|//[a-z0-9.-]+\.[a-z]' "$TEST_DIR/page.html")" "0" \
    "the page names no external URL"
expect_eq "$(curl -sS --cacert "$KROLL_DATA/pki/ca.crt" -o /dev/null -w '%{http_code}' -X POST "$url")" \
    "405" "the page is only read (POST: 405)"
expect_match "$(api_curl /dashboard/x -o /dev/null -w '%{http_code}')" "404" "other dashboard paths are not the page"
expect_match "$(curl -sS --cacert "$KROLL_DATA/pki/ca.crt" -o /dev/null -w '%{http_code}' \
    "https://127.0.0.1:$KROLL_PORT/apis/apps/v1/deployments")" "401" "the API still needs the token"

n=0
# Chromium's virtual time stands still while a fetch is pending, so the page's test hook
# test-watch-seconds=3 ends each watch after 3 s (no reconnect) and the budget can run out.
browse() { # browse URL OUTPUT [--screenshot=PNG]: the DOM (or the PNG) after 8 s of virtual time
    n=$((n + 1))
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --ignore-certificate-errors --user-data-dir="$TEST_DIR/chrome-$n" --window-size=1200,1000 \
        --virtual-time-budget=8000 "${@:3:1}" ${3:+--headless} ${3:---dump-dom} "$1" >"$2" 2>>"$TEST_DIR/chrome.log"
}

browse "$link&test-watch-seconds=3" "$TEST_DIR/dom.html"
dom=$(cat "$TEST_DIR/dom.html")
expect_match "$dom" '<td>web</td>' "the page shows the Deployment"
for rs in $(kubectl get rs -l app=web -o jsonpath='{.items[*].metadata.name}'); do
    expect_match "$dom" "<td>$rs</td>" "the page shows ReplicaSet $rs"
done
for p in $(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.name}'); do
    expect_match "$dom" "<td>$p</td>" "the page shows pod $p"
done
expect_match "$dom" '<td class="ok">Running</td>' "pods' phase is shown"
expect_match "$dom" 'data-action="deployment:pause:web"' "the Deployment has a pause button"
if ! printf '%s' "$dom" | grep -q '<td>web</td>'; then tail -n 20 "$TEST_DIR/chrome.log"; fi

# Actions, through the page's own code (its test hook runs what the confirmed button runs).
browse "$link&test-watch-seconds=3&test-action=deployment:pause:web" "$TEST_DIR/dom-pause.html"
expect_match "$(cat "$TEST_DIR/dom-pause.html")" 'data-last-action="deployment:pause:web:ok"' "the page paused web"
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.paused}')" "true" "web is paused in the cluster"
browse "$link&test-watch-seconds=3&test-action=deployment:undo:web" "$TEST_DIR/dom-undo1.html"
expect_match "$(cat "$TEST_DIR/dom-undo1.html")" 'you cannot rollback a paused deployment' \
    "undo of a paused Deployment is refused as kubectl refuses it"
browse "$link&test-watch-seconds=3&test-action=deployment:resume:web" "$TEST_DIR/dom-resume.html"
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.paused}')" "" "the page resumed web"
browse "$link&test-watch-seconds=3&test-action=deployment:undo:web" "$TEST_DIR/dom-undo.html"
expect_match "$(cat "$TEST_DIR/dom-undo.html")" 'data-last-action="deployment:undo:web:ok"' "the page undid web"
expect_eq "$(kubectl get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')" \
    "test/app:1" "undo restored revision 1's template"
wait_for 60 "web rolled back (revision 3)" -- sh_eval \
    'test "$(kubectl get deploy web -o jsonpath="{.metadata.annotations.deployment\.kubernetes\.io/revision}")" = 3'

# A Rollout paused at its canary step: promote, then abort of the next update, from the page.
ro_manifest ro 1 test/app:1 "    canary:
      steps: [{setWeight: 50}, {pause: {}}]" | kubectl apply -f - >/dev/null
wait_for 60 "Rollout ro Healthy" -- ro_is ro Healthy/
ro_image ro test/app:2
wait_for 60 "ro paused at its pause step" -- ro_is ro Paused/CanaryPauseStep
browse "$link&test-watch-seconds=3&test-action=rollout:promote:ro" "$TEST_DIR/dom-promote.html"
expect_match "$(cat "$TEST_DIR/dom-promote.html")" 'data-last-action="rollout:promote:ro:ok"' "the page promoted ro"
wait_for 60 "promoted ro runs to Healthy" -- ro_is ro Healthy/
ro_image ro test/app:3
wait_for 60 "ro paused again" -- ro_is ro Paused/CanaryPauseStep
browse "$link&test-watch-seconds=3&test-action=rollout:abort:ro" "$TEST_DIR/dom-abort.html"
expect_eq "$(ro_field ro .status.abort)" "true" "the page aborted ro"
wait_for 60 "aborted ro is Degraded" -- sh_eval 'ro_phase ro | grep -q "^Degraded/RolloutAborted"'

# Without a token, and with a wrong one: the 401 message.
browse "$url" "$TEST_DIR/dom-anon.html"
expect_match "$(cat "$TEST_DIR/dom-anon.html")" '401 Unauthorized: open the login link' "no token: the 401 message"
browse "$url#token=not-the-token" "$TEST_DIR/dom-bad.html"
expect_match "$(cat "$TEST_DIR/dom-bad.html")" '401 Unauthorized: open the login link' "wrong token: the 401 message"

browse "$link&test-watch-seconds=3" "$TEST_DIR/dom-shot.html" --screenshot="$TEST_DIR/dashboard.png"
expect_match "$dom" 'live, metrics [0-9]' \
    "the page's three PromQL queries (rate, 5xx rate, p99 per revision) were answered"
[ -s "$TEST_DIR/dashboard.png" ] && pass "screenshot written ($(stat -c %s "$TEST_DIR/dashboard.png") bytes)" ||
    fail "no screenshot"
finish
