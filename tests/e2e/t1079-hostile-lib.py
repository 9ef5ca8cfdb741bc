#!/usr/bin/python3
# Hostile HTTP clients for t1075-t1078 (not a test itself: the .py is not registered).
# Every connection is to loopback, every wait has a bound, and every mode prints one result
# line the calling script checks.
#   trickle PORT head|body       one byte a second; prints "closed S CODE" or "open S"
#   early401 PORT                head of a 3 MiB POST with a wrong token, no body yet
#   cap PORT N                   N TLS connections, each asks /healthz and stays open
#   hold PORT N SECS             N plain TCP connections held SECS seconds
#   slowwatch PORT TOKEN PATH GO a watch that reads nothing until file GO exists
#   attack API_PORT TOKEN PROXY_HOST PROXY_PORT SECS   every attack at once (t1076)
import socket, ssl, sys, threading, time, os

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def connect(port, tls=True, host="127.0.0.1", rcvbuf=0, timeout=10, src=None):
    s = socket.socket()
    if src:
        s.bind((src, 0))
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((host, port))
    return ctx.wrap_socket(s) if tls else s


def status_of(data):
    parts = data.split(b" ", 2)
    return parts[1].decode() if len(parts) > 1 and data.startswith(b"HTTP/") else "-"


def read_answer(s, limit=30):
    s.settimeout(limit)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except (socket.timeout, OSError):
        pass
    return data


def trickle(port, phase, limit=40):
    s = connect(port)
    if phase == "head":
        s.sendall(b"GET /api HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    else:
        s.sendall(b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer " + sys.argv[4].encode() + b"\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
    t0 = time.time()
    s.settimeout(1)
    got = b""
    while time.time() - t0 < limit:
        try:
            s.send(b"a")
        except OSError:
            break
        try:
            d = s.recv(4096)
            if not d:
                break
            got += d
        except socket.timeout:
            pass
        except OSError:
            break
    el = time.time() - t0
    if el >= limit:
        print("open %.0f" % el)
    else:
        print("closed %.0f %s" % (el, status_of(got)))


def early401(port):
    s = connect(port)
    s.sendall(b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Bearer wrong\r\nContent-Type: application/json\r\n"
              b"Content-Length: 3145728\r\n\r\n")
    data = read_answer(s, 15)
    print("answer %s" % status_of(data))


def cap(port, n):
    held, ok, refused = [], 0, 0
    for _ in range(n):
        try:
            s = connect(port, timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            if status_of(read_answer(s, 5)) == "200":
                ok += 1
                held.append(s)
            else:
                refused += 1
        except (OSError, ssl.SSLError):
            refused += 1
    held_ok = 0
    if held:
        held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        held_ok = int(status_of(read_answer(held[0], 5)) == "200")
    print("ok=%d refused=%d held_ok=%d" % (ok, refused, held_ok))
    for s in held:
        s.close()


def hold(port, n, secs):
    socks = []
    for _ in range(n):
        try:
            socks.append(connect(port, tls=False, timeout=3))
        except OSError:
            pass
    print("held %d" % len(socks), flush=True)
    time.sleep(secs)
    for s in socks:
        s.close()


def slowwatch(port, token, path, go):
    # From an address of its own: 127.0.0.1's watch slots belong to kroll's proxy.
    s = connect(port, rcvbuf=4096, timeout=120, src="127.0.0.7")
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % (path, token)).encode())
    for _ in range(1200):
        if os.path.exists(go):
            break
        time.sleep(0.1)
    data = b""
    s.settimeout(60)
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            data += d
            if data.endswith(b"0\r\n\r\n"):
                break
    except (socket.timeout, OSError):
        pass
    lines = [l for l in data.split(b"\n") if l.startswith(b"{")]
    print("events %d last %s ended %d" % (len(lines), lines[-1].decode()[:400] if lines else "-",
                                          int(data.endswith(b"0\r\n\r\n"))))


# ---- t1076: every attack at once, each in its own threads, until the deadline ----
stats = {}
lock = threading.Lock()


def count(k):
    with lock:
        stats[k] = stats.get(k, 0) + 1


def loop_until(end, fn, name):
    while time.time() < end:
        try:
            fn()
            count(name)
        except (OSError, ssl.SSLError):
            count(name + "_err")
            time.sleep(0.05)


def a_slowloris(port, tls, end):
    socks = []
    for _ in range(20):
        try:
            s = connect(port, tls=tls, timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except (OSError, ssl.SSLError):
            pass
    while time.time() < end and socks:
        for s in list(socks):
            try:
                s.send(b"X-a: b\r\n")
            except (OSError, ssl.SSLError):
                socks.remove(s)
                count("slowloris_closed")
        time.sleep(1)
    for s in socks:
        s.close()


def a_bighead(port, tls):
    s = connect(port, tls=tls, timeout=10)
    s.sendall(b"GET /api HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-Big-%d: %s\r\n" % (i, b"v" * 8000) for i in range(100)) + b"\r\n")
    read_answer(s, 10)
    s.close()


def a_bigbody(port, tls, token):
    body = b"{" + b" " * (4 << 20) + b"}"
    s = connect(port, tls=tls, timeout=10)
    s.sendall(b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Bearer " + token.encode() + b"\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body))
    try:
        s.sendall(body)
    except (OSError, ssl.SSLError):
        pass
    read_answer(s, 10)
    s.close()


def a_flood(port, tls):
    socks = []
    for _ in range(100):
        try:
            socks.append(connect(port, tls=False, timeout=3))
        except OSError:
            count("flood_refused")
    time.sleep(0.5)
    for s in socks:
        s.close()


def a_deep(port, token):
    body = b"[" * 100000 + b"]" * 100000
    s = connect(port, timeout=10)
    s.sendall(b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Bearer " + token.encode() + b"\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    read_answer(s, 10)
    s.close()


def attack(api, token, phost, pport, secs):
    end = time.time() + secs
    jobs = [
        lambda: a_slowloris(api, True, end),
        lambda: a_slowloris(pport, False, end),
        lambda: loop_until(end, lambda: a_bighead(api, True), "bighead_api"),
        lambda: loop_until(end, lambda: a_bighead(pport, False), "bighead_proxy"),
        lambda: loop_until(end, lambda: a_bigbody(api, True, token), "bigbody_api"),
        lambda: loop_until(end, lambda: a_bigbody(pport, False, token), "bigbody_proxy"),
        lambda: loop_until(end, lambda: a_flood(api, True), "flood_api"),
        lambda: loop_until(end, lambda: a_flood(pport, False), "flood_proxy"),
        lambda: loop_until(end, lambda: a_deep(api, token), "deep_json"),
    ]
    global connect
    plain = connect
    # The proxy listens on the Service's address, not 127.0.0.1.
    def routed(port, tls=True, host="127.0.0.1", rcvbuf=0, timeout=10):
        return plain(port, tls, phost if port == pport else host, rcvbuf, timeout)
    connect = routed
    ts = [threading.Thread(target=j, daemon=True) for j in jobs]
    for t in ts:
        t.start()
    for t in ts:
        t.join(secs + 30)
    print(" ".join("%s=%d" % kv for kv in sorted(stats.items())))


if __name__ == "__main__":
    m, a = sys.argv[1], sys.argv[2:]
    if m == "trickle":
        trickle(int(a[0]), a[1])
    elif m == "early401":
        early401(int(a[0]))
    elif m == "cap":
        cap(int(a[0]), int(a[1]))
    elif m == "hold":
        hold(int(a[0]), int(a[1]), float(a[2]))
    elif m == "slowwatch":
        slowwatch(int(a[0]), a[1], a[2], a[3])
    elif m == "attack":
        attack(int(a[0]), a[1], a[2], int(a[3]), float(a[4]))
    else:
        sys.exit("unknown mode " + m)
