#!/usr/bin/env python3
"""Test backend for the proxy e2e tests (stdlib only): a raw HTTP/1.1 keep-alive server that
shows what the proxy forwarded. Usage: proxy_test_backend.py PORT NAME

GET  /name            -> "NAME"
GET  /headers         -> the request head as received, one "name: value" per line
POST /echo            -> the request body (Content-Length); X-Seen-TE / X-Seen-Len headers
GET  /stream?n=N&ms=M -> N chunks "chunk i\n", one every M ms (chunked)
GET  /eof             -> body delimited by closing the connection
GET  /slow?ms=M       -> "slow" after M ms
any request with Upgrade: echo -> 101, then echoes raw bytes until EOF
"""
import socket
import socketserver
import sys
import time
from urllib.parse import urlparse, parse_qs


def read_head(f):
    lines = []
    while True:
        line = f.readline(65536)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line.decode("latin-1").rstrip("\r\n"))


def read_body(f, hdrs):
    if "chunked" in hdrs.get("transfer-encoding", "").lower():
        body = b""
        while True:
            size = int(f.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return body
            body += f.read(size)
            f.readline()
    n = int(hdrs.get("content-length", "0"))
    return f.read(n) if n else b""


class Handler(socketserver.StreamRequestHandler):
    def send(self, status, body, extra=""):
        head = ("HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n" % (status, len(body), extra)).encode()
        self.wfile.write(head if self.method == "HEAD" else head + body)
        self.wfile.flush()

    def handle(self):
        while True:
            head = read_head(self.rfile)
            if not head:
                return
            method, target, _ = head[0].split(" ", 2)
            self.method = method
            hdrs = {}
            for h in head[1:]:
                k, _, v = h.partition(":")
                hdrs[k.strip().lower()] = v.strip()
            body = read_body(self.rfile, hdrs)
            url = urlparse(target)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            if hdrs.get("upgrade", "").lower() == "echo":
                self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
                self.wfile.flush()
                while True:
                    data = self.connection.recv(65536)
                    if not data:
                        return
                    self.connection.sendall(data)
            if url.path == "/name":
                self.send("200 OK", NAME.encode())
            elif url.path == "/headers":
                self.send("200 OK", ("\n".join(head[1:]) + "\n").encode())
            elif url.path == "/echo":
                self.send("200 OK", body, "X-Seen-TE: %s\r\nX-Seen-Len: %s\r\n" % (
                    hdrs.get("transfer-encoding", "-"), hdrs.get("content-length", "-")))
            elif url.path == "/stream":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n")
                self.wfile.flush()
                for i in range(int(q.get("n", "3"))):
                    chunk = ("chunk %d\n" % i).encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                    time.sleep(int(q.get("ms", "100")) / 1000)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            elif url.path == "/eof":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-the-end")
                self.wfile.flush()
                return
            elif url.path == "/slow":
                time.sleep(int(q.get("ms", "1000")) / 1000)
                self.send("200 OK", b"slow")
            else:
                self.send("404 Not Found", b"not found")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    NAME = sys.argv[2]
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
