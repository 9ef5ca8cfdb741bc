#!/bin/bash
# t1075: the API front end's limits against hostile clients: a request head over the byte
# limit gets 431, a head or body trickled a byte a second is cut at its deadline (408) however
# many bytes arrive, an unauthenticated upload is answered 401 on its head before any body is
# read, connections over the cap are closed while open ones keep working, and bearer tokens
# are checked strictly (an empty one is 401; an empty token file stops the server at start).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
HL="$PY $(dirname "$0")/t1079-hostile-lib.py"

kroll_start --max-connections 24 --max-request-head 16384 --request-head-timeout 3 \
    --request-body-timeout 4
cd "$TEST_DIR"
alive() { expect_eq "$(api_curl /healthz)" "ok" "server still serving after $1"; }

# Head size: 431 with a Status naming the limit; a head under it is fine.
out=$(api_curl /api/v1/namespaces -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" -w ' %{http_code}')
expect_match "$out" 'limit of 16384 bytes","reason":"RequestHeaderFieldsTooLarge".* 431$' "20 kB header: 431 Status naming the limit"
out=$(api_curl /api/v1/namespaces -H "X-Big: $(head -c 8000 /dev/zero | tr '\0' a)" -o /dev/null -w '%{http_code}')
expect_eq "$out" 200 "8 kB header under the limit: 200"
hdrs=(); for i in $(seq 1 250); do hdrs+=(-H "X-H$i: v"); done
expect_match "$(api_curl /api/v1/namespaces "${hdrs[@]}" -w ' %{http_code}')" 'limit of 200 header fields.*"code":431.* 431$' "250 header fields: 431"
alive "oversized heads"

# Deadlines run from the start of the head/body: a byte a second does not extend them.
out=$($HL trickle "$KROLL_PORT" head)
expect_match "$out" '^closed ([3-9]|1[0-9]) 408$' "head trickled a byte a second is cut at the 3 s head deadline with 408 ($out)"
out=$($HL trickle "$KROLL_PORT" body "$KROLL_TOKEN")
expect_match "$out" '^closed ([4-9]|1[0-9]) 408$' "body trickled a byte a second is cut at the 4 s body deadline with 408 ($out)"
alive "slow clients"

# Authentication on the head: the 401 comes before a single body byte is sent.
expect_eq "$($HL early401 "$KROLL_PORT")" "answer 401" "3 MiB POST with a wrong token: 401 on the head alone"
head -c $((3 << 20)) /dev/zero | tr '\0' ' ' >big.json
t0=$(date +%s%N)
code=$(curl -sS -k -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' \
    -H 'Content-Type: application/json' --data-binary @big.json \
    "https://127.0.0.1:$KROLL_PORT/api/v1/namespaces/default/configmaps")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "$code" 401 "3 MiB unauthenticated POST with curl: 401 (in ${ms} ms)"
body=$(curl -sS -k -H 'Authorization: Bearer wrong' "https://127.0.0.1:$KROLL_PORT/api/v1/namespaces")
expect_match "$body" '"kind":"Status".*"reason":"Unauthorized".*"code":401' "401 is a Status"

# Tokens: empty, wrong length, a prefix, the right one with a suffix.
for t in "" "x" "${KROLL_TOKEN:0:10}" "${KROLL_TOKEN}x" "$(echo "$KROLL_TOKEN" | tr 0-9a-f a-f0-9)"; do
    code=$(curl -sS -k -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" \
        "https://127.0.0.1:$KROLL_PORT/api/v1/namespaces")
    expect_eq "$code" 401 "token [${t:0:12}...] (${#t} bytes): 401"
done
code=$(curl -sS -k -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KROLL_TOKEN" \
    "https://127.0.0.1:$KROLL_PORT/api/v1/namespaces")
expect_eq "$code" 200 "the right token: 200"

# Connection cap (24, with the proxy's own watches among them): the extra ones are closed,
# the open ones keep working, and kubectl works once they are gone.
out=$($HL cap "$KROLL_PORT" 40)
ok=$(sed -n 's/ok=\([0-9]*\).*/\1/p' <<<"$out"); refused=$(sed -n 's/.*refused=\([0-9]*\).*/\1/p' <<<"$out")
expect_match "$ok" '^([1-9]|1[0-9]|2[0-4])$' "at most 24 connections served ($out)"
expect_match "$refused" '^(1[6-9]|[2-3][0-9]|40)$' "the connections over the cap were closed ($out)"
expect_match "$out" 'held_ok=1' "a connection opened under the cap keeps working"
wait_for 20 "kubectl works once the connections are gone" -- kubectl get ns default
grep -q 'connection limit reached' "$TEST_DIR/server.log" && pass "the cap is logged" || fail "the cap is not logged"

# Token file: empty or unreadable refuses to start, naming the file.
kroll_stop
d2=$TEST_DIR/data2
mkdir -p "$d2/pki"
: >"$d2/pki/token"
timeout 30 "$KROLL_BIN" server --data-dir "$d2" --listen 127.0.0.1:0 >empty.log 2>&1
rc=$?
expect_match "$rc $(cat empty.log)" "^[1-9].*token file $d2/pki/token is empty" "empty token file: the server refuses to start"
rm -f "$d2/pki/token"; mkdir "$d2/pki/token"
timeout 30 "$KROLL_BIN" server --data-dir "$d2" --listen 127.0.0.1:0 >unread.log 2>&1
rc=$?
expect_match "$rc $(cat unread.log)" "^[1-9].*(cannot read the token file|refusing) $d2/pki/token" "unreadable token file: the server refuses to start"
finish
