"""The plumbing of `make bench`: a kroll server in a temporary data dir, a keep-alive HTTPS
client with the bearer token, raw non-blocking watch streams, and small statistics helpers.
Everything here talks to 127.0.0.1 only, every wait has a deadline, and what it starts it
stops by PID (the server through `kroll stop --data-dir`, which also stops the proxy and pods).
"""
import http.client
import json
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import threading
import time


class BenchError(Exception):
    pass


def percentile(xs, p):
    """Nearest-rank percentile of a non-empty list (p in 0..100)."""
    s = sorted(xs)
    if not s:
        raise BenchError("no samples")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def rss_kib(pid):
    """Resident set size of a process in KiB (VmRSS), or None when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def wait_until(secs, what, fn, step=0.05):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise BenchError("%s: not within %ss" % (what, secs))


class Server:
    """One `kroll server` on 127.0.0.1:<free port> with its own data dir and log file."""

    def __init__(self, kroll, data_dir, log_path, args=()):
        self.kroll, self.data_dir, self.log_path = kroll, data_dir, log_path
        self.args = list(args)  # more `kroll server` flags
        self.proc = None
        self.ready_ms = None

    def start(self, timeout=60):
        """Starts the server; returns the milliseconds from fork to its "ready" log line
        (printed once the API socket listens). The line is read from a pipe, not polled."""
        os.makedirs(self.data_dir, exist_ok=True)
        log = open(self.log_path, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [self.kroll, "server", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0"] +
            self.args,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        fd = self.proc.stdout.fileno()
        buf, end = b"", t0 + timeout
        while b'msg="ready"' not in buf:
            left = end - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                log.write(buf)
                log.close()
                self.stop()
                raise BenchError("server not ready (see %s)" % self.log_path)
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                buf += chunk
                if not chunk:
                    time.sleep(0.01)
        self.ready_ms = (time.monotonic() - t0) * 1000.0
        log.write(buf)
        # The server must never block on a full pipe: copy the rest of its output to the log.
        threading.Thread(target=self._drain, args=(fd, log), daemon=True).start()
        self._read_kubeconfig()
        return self.ready_ms

    def _drain(self, fd, log):
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            log.write(chunk)
            log.flush()
        log.close()

    def _read_kubeconfig(self):
        with open(os.path.join(self.data_dir, "kubeconfig")) as f:
            kc = f.read()
        self.port = int(re.search(r"server: https://127\.0\.0\.1:(\d+)", kc).group(1))
        self.token = re.search(r"token: (\S+)", kc).group(1)
        self.ca = os.path.join(self.data_dir, "pki", "ca.crt")

    def proxy_pid(self, wait=15):
        """PID of the `kroll proxy` the server started (from run/proxy.pid)."""
        path = os.path.join(self.data_dir, "run", "proxy.pid")

        def read():
            try:
                with open(path) as f:
                    pid = int(f.read().strip() or 0)
                return pid if pid and rss_kib(pid) else None
            except (OSError, ValueError):
                return None
        try:
            return wait_until(wait, "proxy started", read, 0.1)
        except BenchError:
            return None

    def stop(self):
        """Stops the server and everything it runs (`kroll stop`), then makes sure by PID."""
        if not self.proc:
            return
        proxy = None
        try:
            with open(os.path.join(self.data_dir, "run", "proxy.pid")) as f:
                proxy = int(f.read().strip())
        except (OSError, ValueError):
            pass
        try:
            subprocess.run([self.kroll, "stop", "--data-dir", self.data_dir], timeout=90,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pass
        for pid in ([self.proc.pid] + ([proxy] if proxy else [])):
            self._kill(pid)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    def terminate(self):
        """Stops the server process only (SIGTERM, by its PID): its pods keep running under
        their shims and the proxy stays up, and the next server on the data dir adopts them."""
        if not self.proc:
            return
        self._kill(self.proc.pid)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise BenchError("server %d did not exit" % self.proc.pid)
        self.proc = None

    def _kill(self, pid):
        # Only the PIDs this server wrote: its own and its proxy's (SIGTERM, then SIGKILL).
        if pid == self.proc.pid and self.proc.poll() is not None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            return
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if pid == self.proc.pid:
                if self.proc.poll() is not None:
                    return
            elif rss_kib(pid) is None:
                return
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.check_hostname = False
        return ctx


class Client:
    """A keep-alive HTTPS client of the API (one connection, sequential requests)."""

    def __init__(self, srv, timeout=60):
        self.srv = srv
        self.conn = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=timeout,
                                                context=srv.ssl_context())
        self.hdrs = {"Authorization": "Bearer " + srv.token, "Accept": "application/json"}

    def request(self, method, path, body=None, ctype="application/json", ok=(200, 201)):
        """Sends one request; returns (status, body bytes). Raises on a status not in ok."""
        h = dict(self.hdrs)
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = ctype
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        out = r.read()
        if ok and r.status not in ok:
            raise BenchError("%s %s: %d %s" % (method, path, r.status, out[:300]))
        return r.status, out

    def json(self, method, path, body=None, ctype="application/json", ok=(200, 201)):
        return json.loads(self.request(method, path, body, ctype, ok)[1])

    def timed(self, method, path, body=None, ctype="application/json"):
        """One request; returns (milliseconds, response bytes)."""
        t0 = time.perf_counter()
        _, out = self.request(method, path, body, ctype)
        return (time.perf_counter() - t0) * 1000.0, out

    def close(self):
        self.conn.close()


class RawStream:
    """A watch (or any streamed GET) on a non-blocking TLS socket, read by a select loop, so one
    thread can follow many streams and timestamp each byte's arrival without a GIL race."""

    def __init__(self, srv, path):
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        self.sock = srv.ssl_context().wrap_socket(raw)
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
               "Accept: application/json\r\n\r\n" % (path, srv.token))
        self.sock.sendall(req.encode())
        self.sock.setblocking(False)
        self.buf = b""

    def fileno(self):
        return self.sock.fileno()

    def read(self):
        """Reads everything the socket has (TLS records may hold more than one recv)."""
        got = 0
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                break
            if not chunk:
                raise BenchError("watch stream closed by the server")
            self.buf += chunk
            got += len(chunk)
        return got

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class WatchStream(RawStream):
    """A RawStream that undoes HTTP/1.1 chunking and hands out whole watch events."""

    def __init__(self, srv, path):
        RawStream.__init__(self, srv, path)
        self.head = None
        self.chunked = False
        self.body = b""

    def feed(self):
        """Reads what arrived; returns the whole event lines (bytes) it completed."""
        self.read()
        if self.head is None:
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                return []
            self.head, self.buf = self.buf[:i], self.buf[i + 4:]
            if not self.head.startswith(b"HTTP/1.1 200"):
                raise BenchError("watch refused: %s" % self.head[:200])
            self.chunked = b"transfer-encoding: chunked" in self.head.lower()
        self._dechunk()
        lines = self.body.split(b"\n")
        self.body = lines.pop()
        return [x for x in lines if x.strip()]

    def events(self):
        """Like feed(), decoded: the watch events (dicts) that arrived."""
        return [json.loads(x) for x in self.feed()]

    def _dechunk(self):
        if not self.chunked:
            self.body += self.buf
            self.buf = b""
            return
        while True:
            i = self.buf.find(b"\r\n")
            if i < 0:
                return
            n = int(self.buf[:i].split(b";")[0], 16)
            if len(self.buf) < i + 2 + n + 2:
                return
            self.body += self.buf[i + 2:i + 2 + n]
            self.buf = self.buf[i + 2 + n + 2:]
