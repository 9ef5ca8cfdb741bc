#!/bin/bash
# t1441: the dashboard updates live in a real browser, in real time (issue 14). Headless
# Chromium with --remote-debugging-port=0 on 127.0.0.1 is driven over the DevTools protocol by
# t1441-cdp.py (Debian's python3-websocket; no virtual time, no test hooks in the page): the
# page loads with the login link; `kubectl set image` and `kubectl scale` reach the page by its
# watches (the DOM is polled with a 60 s deadline each); the pause button and its confirmation,
# clicked through the DOM, pause the Deployment, as kubectl then reports. Skips when Chromium or
# python3-websocket is missing and cannot be installed (scripts/install-deps.sh --test).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/deploy-lib.sh"
PY=/usr/bin/python3

if ! command -v chromium >/dev/null 2>&1 || ! $PY -c 'import websocket' 2>/dev/null; then
    "$KROLL_SRC/scripts/install-deps.sh" --test >"$TEST_DIR/deps.out" 2>&1
fi
if ! command -v chromium >/dev/null 2>&1 || ! $PY -c 'import websocket' 2>/dev/null; then
    say "SKIP: chromium or python3-websocket missing and not installable ($(tail -n 1 "$TEST_DIR/deps.out"))"
    exit 0
fi

dl_images
kroll_start
dep_manifest web 2 test/app:1 | kubectl apply -f - >/dev/null
wait_for 60 "web rolled out at revision 1" -- kubectl rollout status deploy/web --timeout=2s
link=$("$KROLL_BIN" dashboard --data-dir "$KROLL_DATA" | sed -n 's/^Login link: *//p')
expect_match "$link" "^https://127.0.0.1:$KROLL_PORT/dashboard/#token=" "kroll dashboard prints the login link"

timeout 400 $PY "$KROLL_SRC/tests/e2e/t1441-cdp.py" "$(command -v chromium)" "$TEST_DIR/chrome" \
    "$link" "$(command -v kubectl)" >"$TEST_DIR/cdp.out" 2>&1 &
KROLL_PIDS="$KROLL_PIDS $!"
wait $!
rc=$?
# Chromium leads its own process group; the driver kills it, unless it was killed first.
[ -f "$TEST_DIR/chrome.pid" ] && kill -KILL -- -"$(cat "$TEST_DIR/chrome.pid")" 2>/dev/null
while IFS= read -r line; do
    case $line in
    "ok - "*) pass "browser: ${line#ok - }" ;;
    "FAIL - "*) fail "browser: ${line#FAIL - }" ;;
    *) say "browser: $line" ;;
    esac
done <"$TEST_DIR/cdp.out"
expect_eq "$rc" 0 "the DevTools driver ran to its end"
[ "$rc" = 0 ] || tail -n 20 "$TEST_DIR/chrome.log" 2>/dev/null
expect_eq "$(dep_field web .spec.paused)" "true" "web stays paused"
expect_eq "$(dep_field web .spec.template.spec.containers[0].image)" "test/app:2" "web runs the image set by kubectl"
finish
