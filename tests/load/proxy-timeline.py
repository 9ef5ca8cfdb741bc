#!/usr/bin/python3
"""Records what a kroll proxy did for one Service, for replaying a failed load test.

usage: proxy-timeline.py ADMIN_ADDR SERVICE OUT STOP_FILE [MAX_SECONDS]
Polls http://ADMIN_ADDR/metrics about every 20 ms until STOP_FILE exists (or MAX_SECONDS,
default 1800, pass) and writes a line to OUT whenever the Service's failures or its routable
endpoints change:
  HH:MM:SS.mmm 5xx=<all 5xx answers so far, service and endpoint series> ready=<pods> \
      err=<pod:5xx/connect-errors of endpoints that have any>
Counters of endpoints that left the table are kept (the proxy drops their series).
"""
import os, re, sys, time, urllib.request

admin, svc, out, stop = sys.argv[1:5]
deadline = time.time() + float(sys.argv[5] if len(sys.argv) > 5 else 1800)
series = re.compile(r'^(kroll_proxy_\w+)\{service="%s",endpoint="([^"]*)",pod="([^"]*)",'
                    r'[^}]*?(?:code="(\w+)")?\} (\d+)$' % re.escape(svc), re.M)
gone = {}  # pod -> [5xx, connect errors] of endpoints no longer listed
last, prev = {}, None
with open(out, "w") as f:
    while not os.path.exists(stop) and time.time() < deadline:
        try:
            text = urllib.request.urlopen("http://%s/metrics" % admin, timeout=2).read().decode()
        except OSError:
            time.sleep(0.05)
            continue
        cur, ready, svc5 = {}, [], 0
        for name, ep, pod, code, val in series.findall(text):
            v = int(val)
            key = pod or ep
            if name == "kroll_proxy_requests_total" and code == "5xx":
                if ep:
                    cur.setdefault(key, [0, 0])[0] = v
                else:
                    svc5 = v
            elif name == "kroll_proxy_upstream_connect_errors_total":
                cur.setdefault(key, [0, 0])[1] = v
            elif name == "kroll_proxy_endpoint_ready" and v == 1:
                ready.append(key.split("/")[-1])
        for k in last:
            if k not in cur:
                gone[k] = last[k]
        last = cur
        allc = dict(gone)
        allc.update(cur)
        total = svc5 + sum(v[0] for v in allc.values())
        errs = ",".join("%s:%d/%d" % (k.split("/")[-1], v[0], v[1])
                        for k, v in sorted(allc.items()) if v[0] or v[1])
        line = "5xx=%d ready=%s err=%s" % (total, ",".join(sorted(ready)), errs or "-")
        if line != prev:
            t = time.time()
            f.write("%s.%03d %s\n" % (time.strftime("%H:%M:%S", time.localtime(t)),
                                      int(t * 1000) % 1000, line))
            f.flush()
            prev = line
        time.sleep(0.02)
