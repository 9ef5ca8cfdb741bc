#!/usr/bin/python3
"""Hostile clients of pods/exec (t1513): raw WebSocket and SPDY/3.1 over TLS against kroll.
usage: t1513-stream-limits.py PORT CA TOKEN POD. Prints one "ok - ..." or "FAIL - ..." line per
check; exits 1 on a failure."""
import base64
import os
import socket
import ssl
import struct
import sys
import time

PORT, CA, TOKEN, POD = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
FAILS = 0


def check(cond, what):
    global FAILS
    print(("ok - " if cond else "FAIL - ") + what, flush=True)
    if not cond:
        FAILS += 1


def connect():
    ctx = ssl.create_default_context(cafile=CA)
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", PORT), timeout=10),
                        server_hostname="127.0.0.1")
    return s


def head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    h, _, rest = data.partition(b"\r\n\r\n")
    return h.decode("latin-1"), rest


def upgrade_ws(cmd="sleep%2030", extra=""):
    s = connect()
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /api/v1/namespaces/default/pods/{POD}/exec?command=sh&command=-c&command={cmd}"
               f"&stdout=true{extra} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
               f"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n")
              .encode())
    h, rest = head(s)
    return s, h, rest


def upgrade_spdy(proto="v4.channel.k8s.io"):
    s = connect()
    s.sendall((f"POST /api/v1/namespaces/default/pods/{POD}/exec?command=true&stdout=true HTTP/1.1\r\n"
               f"Host: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 0\r\n"
               f"Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
               f"X-Stream-Protocol-Version: {proto}\r\n\r\n").encode())
    return (s,) + head(s)


def closed_soon(s, secs=10):
    """True when the server closes the connection within secs (reading what it sends)."""
    s.settimeout(secs)
    try:
        while s.recv(65536):
            pass
        return True
    except (socket.timeout, TimeoutError):
        return False
    except (ConnectionError, ssl.SSLError, OSError):
        return True


def masked(op, payload, fin=True):
    m = os.urandom(4)
    n = len(payload)
    b0 = (0x80 if fin else 0) | op
    if n < 126:
        hdr = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, 0x80 | 127, n)
    return hdr + m + bytes(b ^ m[i % 4] for i, b in enumerate(payload))


def read_frame(s, buf):
    while True:
        if len(buf) >= 2:
            n = buf[1] & 0x7f
            off = 2
            if n == 126:
                n, off = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                n, off = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) >= off + n:
                return buf[0] & 0x0f, buf[off:off + n], buf[off + n:]
        chunk = s.recv(65536)
        if not chunk:
            return None, b"", buf
        buf += chunk


# 1. WebSocket: 101 with the subprotocol, the ready message, a pong for a ping; an unmasked
#    frame ends the session.
s, h, rest = upgrade_ws()
check(h.startswith("HTTP/1.1 101") and "Sec-WebSocket-Protocol: v5.channel.k8s.io" in h,
      "WebSocket upgrade answered 101 with v5.channel.k8s.io")
op, payload, rest = read_frame(s, rest)
check(op == 2 and payload == b"\x01", "the ready message (empty, stdout channel) comes first")
s.sendall(masked(0x9, b"png"))
op, payload, rest = read_frame(s, rest)
check(op == 0xa and payload == b"png", "a ping is answered with its pong")
s.sendall(b"\x82\x03\x00hi")  # unmasked: no client may send it
check(closed_soon(s), "an unmasked frame ends the session")

# 1b. A fragmented stdin message is joined; the v5 close of stdin ends `cat`; then the Success
#     status on channel 3 and a close frame.
s, h, rest = upgrade_ws("cat", "&stdin=true")
op, payload, rest = read_frame(s, rest)
s.sendall(masked(0x2, b"\x00fr", fin=False) + masked(0x0, b"ag", fin=False) + masked(0x0, b"ment"))
s.sendall(masked(0x2, b"\xff\x00"))
got, status, closing = b"", b"", False
while True:
    op, payload, rest = read_frame(s, rest)
    if op is None or op == 0x8:
        closing = op == 0x8
        break
    if payload[:1] == b"\x01":
        got += payload[1:]
    elif payload[:1] == b"\x03":
        status += payload[1:]
check(got == b"fragment", f"a fragmented stdin message arrives whole ({got!r})")
check(b'"status":"Success"' in status and closing, "stdin's close ends cat: Success, then a close frame")
s.close()

# 2. A frame announcing 2^40 bytes ends the session at once.
s, h, rest = upgrade_ws()
s.sendall(struct.pack("!BBQ", 0x82, 0x80 | 127, 1 << 40) + os.urandom(4))
check(closed_soon(s), "a 1 TiB frame header ends the session")

# 3. SPDY: no common protocol is 403 naming the server's; a frame of SPDY/2 ends the session.
s, h, _ = upgrade_spdy("v9.channel.k8s.io")
check(h.startswith("HTTP/1.1 403") and "X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io" in h,
      "SPDY without a common protocol: 403 with the accepted versions")
s.close()
s, h, _ = upgrade_spdy()
check(h.startswith("HTTP/1.1 101") and "X-Stream-Protocol-Version: v4.channel.k8s.io" in h,
      "SPDY upgrade answered 101 with v4.channel.k8s.io")
s.sendall(bytes([0x80, 2, 0, 1, 0, 0, 0, 10]) + bytes(10))
check(closed_soon(s), "a SPDY/2 control frame ends the session")
s, h, _ = upgrade_spdy()
s.sendall(bytes([0x80, 3, 0, 1, 0, 0, 0, 20]) + struct.pack("!II", 1, 0) + b"\0\0" + b"not-zlib-at-all")
check(closed_soon(s), "a corrupt header block ends the session")

# 4. The session cap: SPDY sessions waiting for their streams hold no process.
held = []
for i in range(64):
    s, h, _ = upgrade_spdy()
    if not h.startswith("HTTP/1.1 101"):
        break
    held.append(s)
check(len(held) == 64, f"64 sessions open ({len(held)})")
s, h, _ = upgrade_spdy()
check(h.startswith("HTTP/1.1 429") and "Retry-After: 1" in h, "the 65th is 429 with Retry-After")
s.close()
for s in held:
    s.close()
time.sleep(1)
s, h, _ = upgrade_spdy()
check(h.startswith("HTTP/1.1 101"), "sessions are counted down when their clients leave")
s.close()
sys.exit(1 if FAILS else 0)
