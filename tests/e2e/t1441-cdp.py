#!/usr/bin/python3
"""t1441's browser driver: headless Chromium on 127.0.0.1 with --remote-debugging-port=0,
driven over the DevTools protocol (python3-websocket), in real time (no virtual time).

Usage: t1441-cdp.py CHROMIUM USER_DATA_DIR LOGIN_LINK KUBECTL

Loads the dashboard's login link, then: checks the page shows Deployment web at revision 1;
runs `kubectl set image` and polls the DOM until the page shows revision 2 with the new image
and the new ReplicaSet; `kubectl scale` to 3 and polls until the page shows 3/3 ready and 3
pods; clicks the pause button and the confirmation through the DOM and waits until kubectl
reports the Deployment paused and the page shows it. Prints "ok - ..." / "FAIL - ..." lines and
other notes; exits 0 when it ran to its end. Every wait has a deadline; Chromium (a process
group of its own) is killed by its PID at the end.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import websocket

DEADLINE = 60  # seconds for each change to reach the page (the page reacts in about 1 s)


def say(*a):
    print(*a, flush=True)


class Page:
    """One page target over its DevTools websocket; replies matched by id, events dropped."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0

    def call(self, method, params=None, timeout=30):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.ws.settimeout(max(0.1, end - time.monotonic()))
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
        raise TimeoutError(method)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate: %s" % r["exceptionDetails"].get("text"))
        return r.get("result", {}).get("value")


# The page's tables as {table id: [[cell text...]...]} (header rows have no td cells).
TABLES_JS = """JSON.stringify((function () {
  var out = {};
  if (!document.body) return {'t-deploy': [], 't-rs': [], 't-pods': [], st: 'loading', last: ''};
  ['t-deploy', 't-rs', 't-pods'].forEach(function (id) {
    var t = document.getElementById(id);
    out[id] = t ? Array.from(t.querySelectorAll('tr')).map(function (r) {
      return Array.from(r.querySelectorAll('td')).map(function (c) { return c.textContent; });
    }).filter(function (r) { return r.length > 1; }) : [];
  });
  out.st = (document.getElementById('st') || {}).textContent || '';
  out.last = document.body.dataset.lastAction || '';
  return out;
})())"""


def tables(page):
    return json.loads(page.eval(TABLES_JS))


def wait_page(page, what, cond):
    """Polls the DOM every 0.25 s until cond(tables) holds; returns the seconds it took."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < DEADLINE:
        try:
            last = tables(page)
        except RuntimeError as e:  # the document is being replaced (navigation)
            last = {"error": str(e)}
            time.sleep(0.25)
            continue
        if cond(last):
            took = time.monotonic() - start
            say("ok - %s (%.1f s)" % (what, took))
            return took
        time.sleep(0.25)
    say("FAIL - %s (not within %d s; page: %s)" % (what, DEADLINE, json.dumps(last)[:600]))
    return None


def web_row(t):
    for r in t["t-deploy"]:
        if r[0] == "web":
            return r  # name, revision, ready, updated, available, paused, image, actions
    return None


def kubectl(kc, *args):
    return subprocess.run([kc, *args], capture_output=True, text=True, timeout=60)


def start_chromium(chromium, udd):
    log = open(os.path.join(udd + ".log"), "w")
    p = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--ignore-certificate-errors", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", "--user-data-dir=" + udd, "--window-size=1200,1000",
         "about:blank"],
        stdout=log, stderr=log, start_new_session=True)
    with open(udd + ".pid", "w") as f:  # for the shell, should this script be killed outright
        f.write("%d\n" % p.pid)
    port_file = os.path.join(udd, "DevToolsActivePort")
    end = time.monotonic() + 60
    while time.monotonic() < end and p.poll() is None:
        try:
            with open(port_file) as f:
                port = int(f.readline().strip())
            return p, port
        except (OSError, ValueError):
            time.sleep(0.2)
    return p, None


def page_ws(port):
    end = time.monotonic() + 30
    while time.monotonic() < end:
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10) as r:
            for t in json.load(r):
                if t.get("type") == "page" and t.get("webSocketDebuggerUrl"):
                    return t["webSocketDebuggerUrl"]
        time.sleep(0.2)
    return None


def scenario(page, link, kc):
    page.call("Page.enable")
    page.call("Page.navigate", {"url": link})
    wait_page(page, "the page shows web at revision 1 with 2/2 ready",
              lambda t: (r := web_row(t)) is not None and r[1] == "1" and r[2] == "2/2"
              and r[6] == "test/app:1")
    page.eval("window.t1441Loaded = 1")  # gone if the page were reloaded
    rs1 = kubectl(kc, "get", "rs", "-l", "app=web", "-o", "name").stdout.split()
    say("live: page status %r, ReplicaSets %s" % (tables(page)["st"], rs1))

    r = kubectl(kc, "set", "image", "deploy/web", "app=test/app:2")
    say(("ok - " if r.returncode == 0 else "FAIL - ") + "kubectl set image deploy/web app=test/app:2")
    wait_page(page, "the page shows revision 2 with the new image, live",
              lambda t: (r := web_row(t)) is not None and r[1] == "2" and r[6] == "test/app:2")
    wait_page(page, "the page shows the new ReplicaSet (revision 2) with 2 ready",
              lambda t: any(x[2] == "2" and x[3] == "2/2"
                            for x in t["t-rs"] if x[1] == "Deployment/web"))

    r = kubectl(kc, "scale", "deploy/web", "--replicas=3")
    say(("ok - " if r.returncode == 0 else "FAIL - ") + "kubectl scale deploy/web --replicas=3")
    wait_page(page, "the page shows 3/3 ready and 3 Running pods of web, live",
              lambda t: (r := web_row(t)) is not None and r[2] == "3/3" and
              sum(1 for p in t["t-pods"] if p[0].startswith("web-") and p[1] == "Running") == 3)
    # Old pods may still be terminating: the page and kubectl agree once both have seen it.
    start = time.monotonic()
    while True:
        pods = sorted(kubectl(kc, "get", "pods", "-l", "app=web", "-o",
                              "jsonpath={.items[*].metadata.name}").stdout.split())
        shown = sorted(p[0] for p in tables(page)["t-pods"] if p[0].startswith("web-"))
        if shown == pods or time.monotonic() - start > DEADLINE:
            break
        time.sleep(0.5)
    say(("ok - " if shown == pods else "FAIL - ") +
        "the page's pods are kubectl's pods (%s; kubectl %s)" % (shown, pods))

    # The pause button, then the confirmation, clicked as a user does.
    clicked = page.eval("""(function () {
      var b = document.querySelector('[data-action="deployment:pause:web"]');
      if (!b) return 'no pause button';
      b.click();
      if (getComputedStyle(document.getElementById('confirm')).display === 'none') return 'no confirmation';
      document.getElementById('c-yes').click();
      return 'clicked';
    })()""")
    say(("ok - " if clicked == "clicked" else "FAIL - ") + "pause and confirm clicked (%s)" % clicked)
    start, paused = time.monotonic(), ""
    while time.monotonic() - start < DEADLINE:
        paused = kubectl(kc, "get", "deploy", "web", "-o", "jsonpath={.spec.paused}").stdout
        if paused == "true":
            break
        time.sleep(0.25)
    say(("ok - " if paused == "true" else "FAIL - ") +
        "kubectl: web is paused after the click (%.1f s)" % (time.monotonic() - start))
    wait_page(page, "the page shows web paused, with a resume button and its action done",
              lambda t: (r := web_row(t)) is not None and r[5] == "yes" and
              r[7] == "resume" and t["last"] == "deployment:pause:web:ok")
    say(("ok - " if page.eval("window.t1441Loaded") == 1 else "FAIL - ") +
        "every change arrived without a reload of the page")


def main():
    chromium, udd, link, kc = sys.argv[1:5]
    # timeout(1)'s SIGTERM ends the script through the finally below, which kills Chromium.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))
    p, port = start_chromium(chromium, udd)
    try:
        if not port:
            say("FAIL - chromium wrote no DevToolsActivePort within 60 s")
            return 1
        say("chromium pid %d, DevTools on 127.0.0.1:%d" % (p.pid, port))
        ws = page_ws(port)
        if not ws:
            say("FAIL - no page target")
            return 1
        scenario(Page(ws), link, kc)
        return 0
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
