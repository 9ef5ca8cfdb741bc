"""Puts several bench.json files side by side as a Markdown table: each run's value, the median
and the spread ((max - min) / median), with each run's machine, commit and load average.
    /usr/bin/python3 tests/bench/compare.py before.json after.json [...]
Runs of one commit show the noise; runs of two commits show a change only beyond that noise.
"""
import json
import sys


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def fmt(v):
    if v is None:
        return "-"
    return "%.2f" % v if abs(v) < 100 else "%.0f" % v


def main(paths):
    docs = [json.load(open(p)) for p in paths]
    for i, d in enumerate(docs, 1):
        m = d["machine"]
        print("run %d: %s, commit %s, %s, %s x %s, kernel %s, load %s -> %s, %s s" % (
            i, m["date"], m["commit"], "quick" if d["config"].get("quick") else "full",
            m["nproc"], m["cpu"], m["kernel"], " ".join(m["loadavg_start"]),
            " ".join(m.get("loadavg_end", [])), d.get("seconds")))
    print()
    names = []
    for d in docs:
        names += [k for k in d["figures"] if k not in names]
    runs = " | ".join("run %d" % i for i in range(1, len(docs) + 1))
    print("| figure | unit | %s | median | spread |" % runs)
    print("|---|---|%s---:|---:|" % ("---:|" * len(docs)))
    for k in names:
        vals = [d["figures"].get(k, {}).get("value") for d in docs]
        unit = next(d["figures"][k]["unit"] for d in docs if k in d["figures"])
        got = [v for v in vals if v is not None]
        med = median(got)
        spread = "%.0f%%" % (100.0 * (max(got) - min(got)) / med) if med else "-"
        print("| %s | %s | %s | %s | %s |" % (k, unit, " | ".join(fmt(v) for v in vals),
                                             fmt(med), spread if len(got) > 1 else "-"))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: compare.py BENCH.json [BENCH.json...]")
    main(sys.argv[1:])
