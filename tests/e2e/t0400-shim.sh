#!/usr/bin/env bash
# The real `kroll shim` binary driven over its socket protocol (docs/internals/shim.md): start a
# container in a pod network namespace, read its CRI-format log, exec inside the pod, stop.
set -euo pipefail
: "${KROLL_BIN:?KROLL_BIN must point at build/kroll}"

usage=$("$KROLL_BIN" shim 2>&1 || true)
if ! grep -q -- '--pod-dir' <<<"$usage"; then
    echo "SKIP: this kroll has no 'shim' command wired"
    exit 0
fi
tmp=$(mktemp -d /tmp/kroll-t0400.XXXXXX)
pod=$tmp/pods/p1
mkdir -p "$pod"
net=()
if ! unshare -n true 2>/dev/null; then
    echo "note: no network namespaces here, running the pod with --host-network"
    net=(--host-network)
fi
cleanup() {
    if [ -f "$pod/shim.pid" ]; then kill -9 "$(cat "$pod/shim.pid")" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

setsid "$KROLL_BIN" shim --pod-dir "$pod" --pod-ip 127.78.1.1 "${net[@]}" --ready-fd 3 \
    3>"$tmp/ready" 2>"$pod/shim.log" &
for _ in $(seq 100); do grep -q '^ok' "$tmp/ready" 2>/dev/null && break; sleep 0.05; done
grep -q '^ok' "$tmp/ready" || { echo "shim not ready: $(cat "$tmp/ready" "$pod/shim.log")"; exit 1; }

# One request line, one reply line.
ask() {
    python3 - "$pod/shim.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk: break
    buf += chunk
print(buf.decode().strip())
PY
}

r=$(ask '{"op":"start","name":"app","argv":["sh","-c","echo hello from app; sleep 30"]}')
echo "start: $r"
echo "$r" | grep -q '"ok":true'
for _ in $(seq 50); do grep -q 'hello from app' "$pod/logs/app/current.log" && break; sleep 0.05; done
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z stdout F hello from app$' \
    "$pod/logs/app/current.log"

r=$(ask '{"op":"exec","argv":["sh","-c","echo in-pod; exit 2"],"timeoutMs":2000}')
echo "exec: $r"
echo "$r" | grep -q '"exitCode":2'
echo "$r" | grep -q '"output":"in-pod\\n"'

r=$(ask '{"op":"status"}')
echo "$r" | grep -q '"state":"running"'

r=$(ask '{"op":"stop"}')
echo "$r" | grep -q '"ok":true'
for _ in $(seq 60); do [ -e "$pod/shim.sock" ] || break; sleep 0.05; done
[ ! -e "$pod/shim.sock" ]
grep -q '"stopped": true' "$pod/state.json"
grep -q '"exitCode": 137' "$pod/state.json"
echo "ok t0400-shim"
