#!/usr/bin/env bash
# t0510: kroll proxy static mode, HTTP/1.1 path through real sockets: balancing over two
# backends, client keep-alive, POST and chunked request bodies, X-Forwarded-For and hop-by-hop
# removal, a streaming response that arrives incrementally, a read-until-close response, HEAD,
# Upgrade pass-through (echo), TCP mode, and /metrics counting what was served.
set -u
. "$(dirname "$0")/t0519-proxy-lib.sh"

start_backend alpha
A_PORT=$BE_PORT A_PID=$BE_PID
start_backend beta
B_PORT=$BE_PORT B_PID=$BE_PID
start_proxy --backends "127.0.0.1:$A_PORT,127.0.0.1:$B_PORT" --workers 2
P=http://127.0.0.1:$PX_PORT

names=$(for i in 1 2 3 4 5 6; do curl -s --max-time 5 "$P/name"; echo; done | sort -u | tr '\n' ' ')
check "requests are balanced over both backends ($names)" test "$names" = "alpha beta "

out=$(curl -sv --max-time 5 "$P/name" "$P/name" 2>&1)
check "client keep-alive: the second request reuses the connection" grep -q "Re-using existing connection" <<<"$out"
check "keep-alive response carries no Connection: close" bash -c '! grep -qi "^< connection: close" <<<"$1"' _ "$out"

body=$(curl -s --max-time 5 -XPOST --data-binary 'hello world' "$P/echo")
check "POST body arrives and is echoed" test "$body" = "hello world"

head -c 300000 /dev/urandom >"$TMP/big.bin"
hdrs=$(curl -s --max-time 10 -D- -o "$TMP/echo.bin" -H 'Transfer-Encoding: chunked' \
    --data-binary @"$TMP/big.bin" "$P/echo")
check "chunked upload of 300 kB is forwarded intact" cmp -s "$TMP/big.bin" "$TMP/echo.bin"
check "the backend saw a chunked request" grep -qi "^X-Seen-TE: chunked" <<<"$hdrs"

seen=$(curl -s --max-time 5 -H 'X-Forwarded-For: 10.1.2.3' -H 'Connection: X-Secret' \
    -H 'X-Secret: 1' -H 'Keep-Alive: timeout=5' -H 'Proxy-Connection: keep-alive' "$P/headers")
check "X-Forwarded-For gets the client appended" grep -qx "X-Forwarded-For: 10.1.2.3, 127.0.0.1" <<<"$seen"
check "hop-by-hop headers (and ones named in Connection) are removed" \
    bash -c '! grep -Eqi "^(x-secret|keep-alive|connection|proxy-connection):" <<<"$1"' _ "$seen"
seen=$(curl -s --max-time 5 "$P/headers")
check "X-Forwarded-For is added when absent" grep -qx "X-Forwarded-For: 127.0.0.1" <<<"$seen"

# Streaming: 4 chunks 400 ms apart must arrive one by one, not all at the end.
curl -sN --max-time 10 "$P/stream?n=4&ms=400" | while IFS= read -r line; do
    echo "$(date +%s%3N) $line"
done >"$TMP/stream.txt"
first=$(awk 'NR==1{print $1}' "$TMP/stream.txt")
last=$(awk 'END{print $1}' "$TMP/stream.txt")
check "streamed response has all 4 chunks" test "$(grep -c chunk "$TMP/stream.txt")" = 4
check "streamed chunks arrive incrementally (first to last $((last - first)) ms)" \
    test $((last - first)) -ge 900

out=$(curl -s --max-time 5 -D- "$P/eof")
check "read-until-close response reaches the client whole" grep -q "until-the-end" <<<"$out"
check "and is re-framed as chunked for an HTTP/1.1 client" grep -qi "^transfer-encoding: chunked" <<<"$out"
out=$(curl -s --max-time 5 -0 -D- "$P/eof")
check "an HTTP/1.0 client gets it close-delimited" bash -c 'grep -q until-the-end <<<"$1" && ! grep -qi "^transfer-encoding" <<<"$1"' _ "$out"

out=$(curl -s --max-time 5 -I "$P/name" "$P/name")
check "HEAD answers 200 with the length (alpha: 5, beta: 4)" grep -Eqi "^content-length: [45]" <<<"$out"
check "and no body, so a second HEAD on the connection works" test "$(grep -c "^HTTP/1.1 200" <<<"$out")" = 2

# Upgrade: after 101 the connection is a byte pipe in both directions.
out=$(python3 - "$PX_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, _, rest = buf.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode())
for msg in (b"ping-1", b"ping-2 longer message"):
    s.sendall(msg)
    got = rest
    while len(got) < len(msg):
        got += s.recv(4096)
    rest = b""
    print(got.decode())
PY
)
check "Upgrade request gets 101 through the proxy" grep -q "^HTTP/1.1 101" <<<"$out"
check "upgraded connection echoes both messages" bash -c 'grep -qx ping-1 <<<"$1" && grep -qx "ping-2 longer message" <<<"$1"' _ "$out"

metrics=$(curl -s --max-time 5 "http://127.0.0.1:$PX_ADMIN/metrics")
ok2xx=$(awk '/^kroll_proxy_requests_total\{.*endpoint="127.0.0.1:[0-9]+".*code="2xx"/ {s += $2} END {print s + 0}' <<<"$metrics")
check "/metrics counts the 2xx answers of both endpoints (got $ok2xx, want 17)" test "$ok2xx" -eq 17
check "/metrics has a latency histogram" grep -q 'kroll_proxy_request_duration_seconds_bucket{.*le="+Inf"}' <<<"$metrics"
check "/metrics has 101 counted as 1xx" grep -Eq 'code="1xx"\} [1-9]' <<<"$metrics"

# TCP mode: bytes pass through untouched (the backend sees no X-Forwarded-For).
start_proxy --backends "127.0.0.1:$A_PORT" --mode tcp --workers 1
seen=$(curl -s --max-time 5 "http://127.0.0.1:$PX_PORT/headers")
check "TCP mode passes the request through unchanged" bash -c 'grep -q "^Host:" <<<"$1" && ! grep -q "X-Forwarded-For" <<<"$1"' _ "$seen"

finish
