#!/usr/bin/env bash
# The Service proxy lives as long as its data dir: with the server killed it keeps serving its
# last tables, but once the data dir is removed it stops by itself (it looks every second).
. "$(dirname "$0")/lib.sh"
kroll_start
wait_for 10 "server started the proxy" -- test -s "$KROLL_DATA/run/proxy.admin"
PP=$(cat "$KROLL_DATA/run/proxy.pid")
wait_for 20 "the proxy listens for the kubernetes Service" -- \
    grep -q 'listening service=default/kubernetes:443' "$KROLL_DATA/run/proxy.log"
kill -9 "$KROLL_SERVER_PID"; wait "$KROLL_SERVER_PID" 2>/dev/null
sleep 2
if proc_running "$PP"; then pass "the proxy outlives the server"; else fail "the proxy outlives the server"; fi
rm -rf "$KROLL_DATA"
wait_for 15 "the proxy stopped once its data dir was gone" -- sh_eval "! proc_running $PP"
kill -KILL "$PP" 2>/dev/null
finish
