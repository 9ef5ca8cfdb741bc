#!/usr/bin/env bash
# t0403: helpers shared by the t04xx kubelet tests (sourced after lib.sh): shell images, a tiny
# HTTP server whose answers the test controls (images from img-lib.sh), and accessors for pods
# and events. Run directly
# (CTest does), it checks the helpers themselves against a real pod: an exec-probe pod becomes
# Ready, and `kubectl logs -f` streams lines while the container writes them.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    . "$(dirname "$0")/lib.sh"
fi

. "$(dirname "${BASH_SOURCE[0]}")/img-lib.sh"

node_skip_checks() {
    unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }
}

# The status server, busybox nc running a shell handler per connection (in the image, so it
# runs the same in a container): GET /NNN answers NNN; /slow answers 200 after 3 s; /file
# answers the code written in $TSHARE/status (200 when missing). Listens on all addresses.
write_status_server() {
    cat >"$TEST_DIR/statussrv.sh" <<'SH'
cr=$(printf '\r')
read -r method path rest
# The whole request is read before answering, so the client never sees a reset.
while read -r h; do case "$h" in "" | "$cr") break ;; esac; done
path=${path#/}
case "$path" in
slow) sleep 3; code=200 ;;
file) code=$(cat "$T/status" 2>/dev/null); [ -n "$code" ] || code=200 ;;
"" | *[!0-9]*) code=404 ;;
*) code=$path ;;
esac
body="status $code"
printf 'HTTP/1.1 %s Status\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s\n' \
    "$code" $((${#body} + 1)) "$body"
SH
}

# mksrvimage REF PORT: an image running the status server on PORT. bin/busybox is the image's
# own, named relative to the working directory: the image dir on the process runtime, / in a
# container (the process runtime's PATH is the host's). The shell stays PID 1 and ends on
# SIGTERM (exit 143, as a process the signal killed): in a container the kernel ignores it for
# a PID 1 that has no handler, such as a bare nc.
mksrvimage() {
    local dir
    dir=$TEST_DIR/img-$(printf '%s' "$1" | tr -c 'a-zA-Z0-9' '_')
    img_shell_dir "$dir" "bin/busybox nc -ll -p $2 -e bin/busybox sh statussrv.sh & pid=\$!
trap 'kill \$pid; exit 143' TERM; wait \$pid"
    cp "$TEST_DIR/statussrv.sh" "$dir/statussrv.sh"
    img_import "$dir" "$1"
}

jp() { kubectl get pod "$1" -o jsonpath="$2" 2>/dev/null; }               # jp POD JSONPATH
events_of() { # events_of NAME: "reason|message" lines in the order they were recorded
    kubectl get events --field-selector "involvedObject.name=$1" \
        -o jsonpath='{range .items[*]}{.reason}|{.message}{"\n"}{end}' 2>/dev/null
}
now_s() { date +%s.%N; }
# secs_between A B: B - A in seconds with one decimal.
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# in_range VALUE LO HI
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }
expect_range() { # expect_range VALUE LO HI WHAT
    if in_range "$1" "$2" "$3"; then pass "$4 ($1)"; else fail "$4: $1 not in [$2, $3]"; fi
}
# expect_elapsed BEFORE AFTER EVENT LO HI WHAT: the event came LO..HI s after an action that
# happened between BEFORE and AFTER (kubectl itself takes a while under load).
expect_elapsed() {
    local early late
    early=$(secs_between "$1" "$3"); late=$(secs_between "$2" "$3")
    if in_range "$early" "$4" 1000 && in_range "$late" -1000 "$5"; then pass "$6 (${late}..${early} s)"
    else fail "$6: ${late}..${early} s, want within [$4, $5]"; fi
}
gone() { ! kubectl get pod "$1" >/dev/null 2>&1; }
phase_is() { [ "$(jp "$1" '{.status.phase}')" = "$2" ]; }
ready_is() { [ "$(jp "$1" '{.status.containerStatuses[0].ready}')" = "$2" ]; }

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    node_skip_checks
    kroll_start
    mkimage test/ticker 'i=0; while [ $i -lt 50 ]; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'
    cat <<Y | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  restartPolicy: Never
  volumes: $TVOL
  containers:
  - name: main
    image: test/ticker
    volumeMounts: $TMNT
    readinessProbe:
      exec: {command: ["/bin/sh", "-c", "test -d \$T"]}
      periodSeconds: 1
Y
    wait_for 20 "exec readiness probe makes the pod Ready" -- ready_is ticker true
    kubectl logs -f ticker >"$TEST_DIR/follow.out" 2>&1 &
    FPID=$!
    KROLL_PIDS="$KROLL_PIDS $FPID"
    some() { [ "$(wc -l <"$TEST_DIR/follow.out")" -ge 1 ]; }
    wait_for 6 "logs -f printed lines while the container runs" -- some
    n1=$(wc -l <"$TEST_DIR/follow.out")
    sleep 1.5
    n2=$(wc -l <"$TEST_DIR/follow.out")
    [ "$n2" -gt "$n1" ] && pass "logs -f keeps streaming ($n1 -> $n2 lines)" ||
        fail "logs -f did not stream: $n1 -> $n2 lines"
    stopped() { ! kill -0 "$FPID" 2>/dev/null; }
    wait_for 20 "logs -f ends when the container ends" -- stopped
    expect_eq "$(tail -n 1 "$TEST_DIR/follow.out")" "tick 50" "logs -f saw the last line"
    expect_eq "$(grep -c '^tick' "$TEST_DIR/follow.out")" 50 "no line lost or repeated"
    expect_eq "$(jp ticker '{.status.phase}')" "Succeeded" "restartPolicy Never + exit 0: Succeeded"
    finish
fi
