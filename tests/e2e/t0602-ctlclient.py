"""t0602's client for the proxy's control socket and admin port: request (one drain request,
prints the answer), flood (holds N silent clients, counts refusals), idle (time until a silent
client is closed), exhaust (holds N data-port connections of a proxy with few descriptors while
asking control and admin). Every wait has a timeout."""
import socket, sys, time

def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    return s

def readline(s, timeout):
    s.settimeout(timeout)
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                return data.decode() + "EOF" if data else "EOF"
            data += chunk
    except socket.timeout:
        return "TIMEOUT"
    except OSError as e:
        return "ERR:" + e.__class__.__name__
    return data.decode().strip()

def request(path, timeout=10):
    try:
        s = connect(path)
    except OSError as e:
        return "CONNECT:" + e.__class__.__name__
    try:
        s.sendall(b'{"op":"drain","pod":"default/none","timeout_ms":100}\n')
    except OSError as e:
        # A refused client may be closed before it writes: what it was told is still readable.
        r = readline(s, 1)
        s.close()
        return r if r.startswith("{") else "SEND:" + e.__class__.__name__
    r = readline(s, timeout)
    s.close()
    return r

def flood(path, n):
    import select
    held = [connect(path) for _ in range(n)]
    busy, end = 0, time.time() + 5
    waiting = list(held)
    while waiting and time.time() < end:
        ready, _, _ = select.select(waiting, [], [], max(0, end - time.time()))
        for s in ready:
            waiting.remove(s)
            busy += "too many control clients" in readline(s, 1)
    during = request(path, 5)
    for s in held:
        s.close()
    time.sleep(1)
    print("busy=%d during=%s after=%s" % (busy, during, request(path)))

def idle(path):
    s = connect(path)
    t0 = time.time()
    r = readline(s, 60)
    print("%s after %ds" % (r, round(time.time() - t0)))

def http_get(port, timeout):
    try:
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(timeout)
        data = s.recv(4096).decode()
        return data.split("\r\n")[0] if data else "EOF"
    except OSError as e:
        return "ERR:" + e.__class__.__name__

def exhaust(path, admin, data_port, n):
    """Holds n client connections to the data port (the proxy runs with few fds), asks the
    control socket and the admin port meanwhile, then lets go and asks again."""
    held = []
    for _ in range(n):
        try:
            held.append(socket.create_connection(("127.0.0.1", int(data_port)), timeout=5))
        except OSError:
            break
    time.sleep(1)
    import threading
    res = {}
    t1 = threading.Thread(target=lambda: res.__setitem__("ctl", request(path, 30)))
    t2 = threading.Thread(target=lambda: res.__setitem__("adm", http_get(admin, 30)))
    t1.start(); t2.start()
    time.sleep(3)
    for s in held:
        s.close()
    t1.join(); t2.join()
    print("held=%d during_then_released ctl=%s adm=%s | after ctl=%s adm=%s" % (
        len(held), res["ctl"], res["adm"], request(path), http_get(admin, 10)))

if __name__ == "__main__":
    op = sys.argv[1]
    if op == "request":
        print(request(sys.argv[2]))
    elif op == "flood":
        flood(sys.argv[2], int(sys.argv[3]))
    elif op == "idle":
        idle(sys.argv[2])
    elif op == "exhaust":
        exhaust(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
