#!/usr/bin/env bash
# t0500: the bundled example model server, run straight from the image directories the build
# assembles (<build>/examples/images/tf-serving-*), the way a pod runs it: cwd = image dir, the
# image's Env applied, the tutorial's args. Checks TF Serving's status/metadata/predict answers,
# that 1.0.3 and 1.0.4 answer differently, the version header, bad-request handling, that 1.0.5
# never becomes ready, the slow variant's delayed readiness, and the SIGTERM drain.
set -u

: "${KROLL_BUILD:?KROLL_BUILD must point at the CMake build directory}"
IMAGES="$KROLL_BUILD/examples/images"
TMP=$(mktemp -d /tmp/t0500.XXXXXX)
PIDS=()
FAILS=0

cleanup() {
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

ok() { echo "ok   - $*"; }
not_ok() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { # check <description> <command...>
    local what=$1; shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}

free_port() {
    local p i
    for i in $(seq 1 100); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# The image's Env entries (one KEY=VALUE per line), read from its image.json without jq: the
# build writes the Env array on one line.
image_env() {
    grep '"Env"' "$1/image.json" | sed 's/.*"Env": *\[//; s/\].*//' | grep -o '"[^"]*"' | tr -d '"'
}

# start_server <image dir> <port> [KEY=VALUE overrides...]: sets SERVER_PID (our child).
start_server() {
    local img=$1 port=$2; shift 2
    local -a envs
    mapfile -t envs < <(image_env "$img")
    (cd "$img" && exec env "${envs[@]}" BIND_ADDRESS=127.0.0.1 "$@" ./model-server --port=0 \
        --rest_api_port="$port" --model_name=classifier --model_base_path=/models/classifier \
        >>"$TMP/server.log" 2>&1) &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
}

# http <port> <path> [curl args...]: prints "<status>" then the body on the next line.
http() {
    local port=$1 path=$2; shift 2
    curl -s --max-time 10 -o "$TMP/body" -w '%{http_code}\n' "$@" \
        "http://127.0.0.1:$port$path" 2>/dev/null || echo "000"
    cat "$TMP/body" 2>/dev/null
    echo
}

# wait_status <port> <path> <status> <seconds>: polls until the path answers with status.
wait_status() {
    local port=$1 path=$2 want=$3 deadline=$((SECONDS + $4))
    while [ "$SECONDS" -lt "$deadline" ]; do
        [ "$(http "$port" "$path" | head -1)" = "$want" ] && return 0
        sleep 0.2
    done
    return 1
}

# never_status <port> <path> <status> <seconds>: succeeds if the status is not seen meanwhile.
never_status() {
    ! wait_status "$@"
}

# stop_server <pid> <seconds>: SIGTERM, then wait_server.
stop_server() {
    kill -TERM "$1" 2>/dev/null
    wait_server "$@"
}

# wait_server <pid> <seconds>: waits for our child; succeeds if it exited 0 in time.
wait_server() {
    local pid=$1 deadline=$((SECONDS + $2)) rc
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "  (pid $pid still running ${2}s after SIGTERM)"
        return 1
    fi
    wait "$pid"
    rc=$?
    [ "$rc" = 0 ] || echo "  (pid $pid exited with status $rc)"
    [ "$rc" = 0 ]
}

INSTANCES='{"instances": [[5.1, 3.5, 1.4, 0.2], [6.1, 2.9, 4.7, 1.4], [6.7, 3.1, 5.6, 2.4]]}'

for img in tf-serving-1.0.3 tf-serving-1.0.4 tf-serving-1.0.5 tf-serving-slow; do
    check "image $img has model-server, image.json and models/classifier/1/weights.json" \
        test -x "$IMAGES/$img/model-server" -a -f "$IMAGES/$img/image.json" \
        -a -f "$IMAGES/$img/models/classifier/1/weights.json"
done
[ "$FAILS" = 0 ] || { echo "images missing; was the build run?"; exit 1; }

# ---- 1.0.3: status, metadata, predict, version header, bad requests ----------------------
P1=$(free_port)
start_server "$IMAGES/tf-serving-1.0.3" "$P1" REQUEST_TIMEOUT_MS=1500
PID1=$SERVER_PID
check "1.0.3 becomes ready on /v1/models/classifier within 10s" \
    wait_status "$P1" /v1/models/classifier 200 10
R=$(http "$P1" /v1/models/classifier)
check "status is TF Serving's model_version_status with version 1 AVAILABLE / OK" \
    grep -qF '{"model_version_status":[{"version":"1","state":"AVAILABLE","status":'`
        `'{"error_code":"OK","error_message":""}}]}' <<<"$R"
R=$(http "$P1" /v1/models/classifier/metadata)
check "metadata names serving_default with input x of shape [-1,4] and 3 outputs" \
    grep -q '"serving_default".*"x".*"size":"4".*"size":"3"' <<<"$R"
check "/healthz answers 200 ok" test "$(http "$P1" /healthz | tr '\n' ' ')" = "200 ok  "

R=$(curl -s --max-time 10 -D "$TMP/h103" -H 'Content-Type: application/json' -d "$INSTANCES" \
    "http://127.0.0.1:$P1/v1/models/classifier:predict")
PRED103=$R
check "1.0.3 predict returns 3 predictions of 3 probabilities" \
    grep -Eq '^\{"predictions":\[(\[[-0-9.e]+,[-0-9.e]+,[-0-9.e]+\],?){3}\]\}$' <<<"$R"
check "1.0.3 classifies the first instance as class 0 (p > 0.5)" \
    awk -F'[][,]+' '{ exit !($2 > 0.5) }' <<<"$R"
check "predict answer carries X-Model-Version: 1.0.3" grep -qi '^X-Model-Version: 1.0.3' "$TMP/h103"

R=$(http "$P1" /v1/models/classifier:predict -d '{"instances": [[1, 2, 3')
check "truncated JSON body is 400 with an error message" \
    grep -Eq '^400$' <(head -1 <<<"$R")
check "  ... and the 400 body is {\"error\": ...}" grep -q '"error":"JSON Parse error' <<<"$R"
R=$(http "$P1" /v1/models/classifier:predict -d '{"instances": [[1, 2, 3]]}')
check "instance of the wrong width is 400" test "$(head -1 <<<"$R")" = 400
R=$(http "$P1" /v1/models/classifier:predict -d '{"instances": [["a", 2, 3, 4]]}')
check "non-numeric feature is 400" test "$(head -1 <<<"$R")" = 400
R=$(http "$P1" /v1/models/classifier:predict -d '[1,2]')
check "non-object body is 400" test "$(head -1 <<<"$R")" = 400
R=$(http "$P1" /v1/models/other:predict -d "$INSTANCES")
check "unknown model name is 404" test "$(head -1 <<<"$R")" = 404
R=$(http "$P1" /v1/models/classifier:predict)
check "GET on :predict is 405" test "$(head -1 <<<"$R")" = 405
head -c 2000000 /dev/zero | tr '\0' '1' >"$TMP/big"
R=$(http "$P1" /v1/models/classifier:predict --data-binary "@$TMP/big")
check "a 2 MB body is refused with 413" test "$(head -1 <<<"$R")" = 413
R=$(http "$P1" /v1/models/classifier:predict -H 'Transfer-Encoding: chunked' -d "$INSTANCES")
check "chunked request body is accepted and answered like the plain one" \
    test "$(sed -n 2p <<<"$R")" = "$PRED103"
R=$(curl -s --max-time 10 -o /dev/null -o /dev/null -w '%{num_connects} ' \
    "http://127.0.0.1:$P1/healthz" \
    "http://127.0.0.1:$P1/v1/models/classifier")
check "keep-alive: two requests on one connection (connects: $R)" test "$R" = "1 0 "

# A client that sends half a request head and stalls must not block anyone else.
exec 5<>"/dev/tcp/127.0.0.1/$P1"
printf 'POST /v1/models/classifier:predict HTTP/1.1\r\nHost: x\r\n%b' \
    'Content-Length: 100\r\n\r\n{"inst' >&5
check "a stalled client does not block other requests" \
    test "$(http "$P1" /v1/models/classifier | head -1)" = 200
R=$(timeout 5 cat <&5 | head -c 100)
check "the stalled client gets 408 once REQUEST_TIMEOUT_MS passes" grep -q '^HTTP/1.1 408' <<<"$R"
exec 5>&-
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n%b' \
    'GET /v1/models/classifier HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$TMP/pipelined"
R=$(curl -s --max-time 5 "telnet://127.0.0.1:$P1" <"$TMP/pipelined" 2>/dev/null | tr -d '\r')
check "two pipelined requests get two answers in order" \
    grep -Pzq '(?s)HTTP/1.1 200.*\nok\n.*HTTP/1.1 200.*"AVAILABLE"' <<<"$R"
R=$(printf 'GARBAGE\r\n\r\n' | curl -s --max-time 5 "telnet://127.0.0.1:$P1" 2>/dev/null)
check "a malformed request line gets 400" grep -q '^HTTP/1.1 400' <<<"$R"
check "server is still alive after the bad requests" \
    test "$(http "$P1" /v1/models/classifier | head -1)" = 200

# ---- 1.0.4: a different model answers differently -----------------------------------------
P2=$(free_port)
start_server "$IMAGES/tf-serving-1.0.4" "$P2"
PID2=$SERVER_PID
check "1.0.4 becomes ready within 10s" wait_status "$P2" /v1/models/classifier 200 10
PRED104=$(curl -s --max-time 10 -D "$TMP/h104" -d "$INSTANCES" \
    "http://127.0.0.1:$P2/v1/models/classifier:predict")
check "1.0.4 predict has the same shape" \
    grep -Eq '^\{"predictions":\[(\[[-0-9.e]+,[-0-9.e]+,[-0-9.e]+\],?){3}\]\}$' <<<"$PRED104"
check "1.0.4 and 1.0.3 give different answers" test "$PRED103" != "$PRED104"
check "1.0.4 answers carry X-Model-Version: 1.0.4" grep -qi '^X-Model-Version: 1.0.4' "$TMP/h104"
check "1.0.4 exits 0 within 5s of SIGTERM when idle" stop_server "$PID2" 5

# ---- 1.0.5: the bad release never becomes ready -------------------------------------------
P3=$(free_port)
start_server "$IMAGES/tf-serving-1.0.5" "$P3"
PID3=$SERVER_PID
check "1.0.5 answers 503 on /v1/models/classifier" wait_status "$P3" /v1/models/classifier 503 10
check "1.0.5 is still not ready 4s later" never_status "$P3" /v1/models/classifier 200 4
R=$(http "$P3" /v1/models/classifier)
check "1.0.5 status says LOADING and why" \
    grep -q '"state":"LOADING".*"error_message":"layer 2' <<<"$R"
check "1.0.5 /healthz is 503" test "$(http "$P3" /healthz | head -1)" = 503
check "1.0.5 predict is 503" \
    test "$(http "$P3" /v1/models/classifier:predict -d "$INSTANCES" | head -1)" = 503
check "1.0.5 process keeps running" kill -0 "$PID3"
check "1.0.5 exits 0 within 5s of SIGTERM" stop_server "$PID3" 5

# ---- slow: LOADING for MODEL_LOAD_DELAY seconds, then AVAILABLE -----------------------------
check "the slow image sets MODEL_LOAD_DELAY in its Env" \
    grep -q '^MODEL_LOAD_DELAY=[1-9]' <(image_env "$IMAGES/tf-serving-slow")
P4=$(free_port)
T0=$SECONDS
start_server "$IMAGES/tf-serving-slow" "$P4" MODEL_LOAD_DELAY=2
PID4=$SERVER_PID
check "slow variant first answers 503 LOADING" wait_status "$P4" /v1/models/classifier 503 5
check "slow variant becomes ready within 10s" wait_status "$P4" /v1/models/classifier 200 10
check "slow variant took at least 1s to become ready" test $((SECONDS - T0)) -ge 1
check "slow variant exits 0 on SIGTERM" stop_server "$PID4" 5

# ---- SIGTERM during a slow predict: the request finishes, then the process exits 0 --------
check "1.0.3 exits 0 on SIGTERM" stop_server "$PID1" 5
P5=$(free_port)
start_server "$IMAGES/tf-serving-1.0.3" "$P5" RESPONSE_DELAY_MS=2000
PID5=$SERVER_PID
check "1.0.3 with RESPONSE_DELAY_MS becomes ready" wait_status "$P5" /v1/models/classifier 200 10
SEEN=$(grep -c 'predict status=200' "$TMP/server.log")
curl -s --max-time 10 -o "$TMP/slowbody" -w '%{http_code}' -d "$INSTANCES" \
    "http://127.0.0.1:$P5/v1/models/classifier:predict" >"$TMP/slowcode" 2>/dev/null &
CURL=$!
# The server logs a predict when it has read it (its answer is then held for 2s).
DEADLINE=$((SECONDS + 5))
while [ "$(grep -c 'predict status=200' "$TMP/server.log")" = "$SEEN" ] &&
    [ "$SECONDS" -lt "$DEADLINE" ]; do
    sleep 0.05
done
kill -TERM "$PID5"
check "after SIGTERM no new connection is accepted" wait_status "$P5" /healthz 000 2
wait "$CURL"
check "the in-flight predict still got its 200 answer" test "$(cat "$TMP/slowcode")" = 200
check "  ... with the same predictions as before" test "$(cat "$TMP/slowbody")" = "$PRED103"
check "the server exited 0 after the drain" wait_server "$PID5" 5

if [ "$FAILS" != 0 ]; then
    echo "--- server log ---"
    cat "$TMP/server.log"
    echo "t0500: $FAILS check(s) failed"
    exit 1
fi
echo "t0500: all checks passed"
