#!/usr/bin/python3
"""t1512 helper: runs a command on a terminal of a given size and plays steps against it.

usage: t1512-pty.py ROWS COLS TIMEOUT STEP... -- COMMAND...
steps: expect:REGEX (in the output after the last match), send:TEXT (backslash escapes),
       resize:ROWS,COLS (the command gets SIGWINCH), wait (for the command's exit).
Prints the transcript; exits 0 when every step passed (then prints "exit N" for the command's
status), 1 otherwise. Every wait is bounded by TIMEOUT seconds."""
import codecs
import fcntl
import os
import re
import select
import signal
import struct
import sys
import termios
import time


def main():
    args = sys.argv[1:]
    rows, cols, timeout = int(args[0]), int(args[1]), float(args[2])
    sep = args.index("--")
    steps, cmd = args[3:sep], args[sep + 1:]
    pid, fd = os.forkpty()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execvp(cmd[0], cmd)
    out, pos, status = b"", 0, None

    def pump(deadline):
        nonlocal out
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], min(left, 0.2))
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                return False
            out += data
        return True

    ok = True
    for step in steps:
        kind, _, arg = step.partition(":")
        deadline = time.monotonic() + timeout
        if kind == "expect":
            rx = re.compile(arg.encode())
            while not rx.search(out, pos):
                if not pump(deadline):
                    break
            m = rx.search(out, pos)
            if not m:
                sys.stderr.write("t1512-pty: no match for %r\n" % arg)
                ok = False
                break
            pos = m.end()
        elif kind == "send":
            time.sleep(0.2)
            os.write(fd, codecs.decode(arg, "unicode_escape").encode())
        elif kind == "resize":
            r, c = (int(x) for x in arg.split(","))
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
            os.kill(pid, signal.SIGWINCH)
        elif kind == "wait":
            while time.monotonic() < deadline:
                p, st = os.waitpid(pid, os.WNOHANG)
                if p == pid:
                    status = st
                    break
                pump(time.monotonic() + 0.2)
            if status is None:
                sys.stderr.write("t1512-pty: the command did not exit\n")
                ok = False
                break
    while pump(time.monotonic() + 0.3):  # what is left of the output
        pass
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
    if ok and status is not None:
        sys.stdout.write("\nexit %d\n" % os.waitstatus_to_exitcode(status))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
