#!/usr/bin/python3
"""Checks the layer rules of scripts/layers.table against a build of src/.

usage: check-layers.py [--build DIR] [--src DIR] [--table FILE] [--allow-stale] [--list]

Reads DIR/compile_commands.json (CMake writes it), then finds four kinds of edge between the
folders of src/: includes (every #include of every file under src/, resolved through the
build's include path), calls (the undefined symbols of each object against the folder whose
objects define them, objdump -t), globals (writable variables used across folders: .data or
.bss, not .data.rel.ro) and files (names of
data-directory files in another folder's string constants, readelf). Each edge not allowed by
the table and not listed as a known exception is printed; so is each exception that no longer
occurs. A folder's private parts (its <comp>-int.h headers, its <comp>__name functions) are
never for another folder. Exits 0 when there are none, 1 when there are, 2 on bad input. --list also prints every
edge found, with how the table treats it.
"""
import json
import os
import re
import shlex
import subprocess
import sys

KINDS = ("include", "call", "global", "file", "peer", "private")
PRIVATE_SYM = re.compile(r"^[a-z]+__\w")
# objdump -t: address, 7 flag characters, section, size, name (maybe after ".hidden").
SYMBOL_RE = re.compile(r"^[0-9a-f]+ (.{7}) (\S+)\s+[0-9a-f]+\s+(.+)$")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*(.*)$')
MAX_EXAMPLES = 3


def fail(msg):
    print("check-layers: " + msg, file=sys.stderr)
    sys.exit(2)


def parse_table(path):
    """Returns (allow, peers, owns, exceptions) from the table file."""
    allow, peers, owns, exceptions = {}, {}, {}, {}
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    for no, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        head, sep, tail = rest.partition(":")
        if not sep:
            fail(f"{path}:{no}: no ':' in '{line}'")
        if word == "allow":
            allow[head.strip()] = set(tail.split())
        elif word == "peers":
            peers[head.strip()] = set(tail.split())
        elif word == "owns":
            for name in tail.split():
                owns.setdefault(name, set()).update(head.split())
        elif word == "except":
            m = re.fullmatch(r"(\w+)\s+(\S+)\s*->\s*(\S+)", head.strip())
            if not m or m.group(1) not in KINDS or not tail.strip():
                fail(f"{path}:{no}: want 'except KIND FROM -> TO: why' in '{line}'")
            exceptions[(m.group(1), m.group(2), m.group(3))] = tail.strip()
        else:
            fail(f"{path}:{no}: unknown line '{line}'")
    for frm, tos in allow.items():
        for to in tos - set(allow):
            fail(f"{path}: allow {frm}: unknown folder {to}")
    return allow, peers, owns, exceptions


def folder_of(path, src):
    """The folder of src/ a path belongs to ('main' for files directly in src/), or None."""
    rel = os.path.relpath(path, src)
    if rel.startswith(".."):
        return None
    parts = rel.split(os.sep)
    return parts[0] if len(parts) > 1 else "main"


def load_compile_db(build, src):
    """Returns [(source, object, include_dirs)] for the translation units under src."""
    path = os.path.join(build, "compile_commands.json")
    try:
        entries = json.load(open(path, encoding="utf-8"))
    except (OSError, ValueError) as e:
        fail(f"cannot read {path} (configure with CMAKE_EXPORT_COMPILE_COMMANDS): {e}")
    units = []
    for e in entries:
        source = os.path.realpath(os.path.join(e["directory"], e["file"]))
        if folder_of(source, src) is None:
            continue
        args = e.get("arguments") or shlex.split(e["command"])
        obj, dirs = e.get("output"), []
        for i, a in enumerate(args):
            nxt = args[i + 1] if i + 1 < len(args) else ""
            if a == "-o":
                obj = nxt
                continue
            for flag in ("-iquote", "-isystem", "-I"):
                if a == flag:
                    dirs.append(nxt)
                elif a.startswith(flag):
                    dirs.append(a[len(flag):])
                else:
                    continue
                break
        if not obj:
            fail(f"{path}: no object file for {e['file']}")
        dirs = [os.path.realpath(os.path.join(e["directory"], d)) for d in dirs]
        units.append((source, os.path.realpath(os.path.join(e["directory"], obj)), dirs))
    if not units:
        fail(f"{path}: no sources under {src}")
    return units


def resolve(name, quoted, including, dirs):
    """The file an #include names, searched as the compiler does, or None (a system header)."""
    search = ([os.path.dirname(including)] if quoted else []) + dirs
    for d in search:
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return os.path.realpath(p)
    return None


def include_edges(src, units, add):
    """Every #include of every file under src, resolved through the build's include path."""
    dirs = []
    for _, _, ds in units:
        dirs += [d for d in ds if d not in dirs]
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith((".c", ".h", ".def")):
                continue
            path = os.path.join(root, f)
            frm = folder_of(path, src)
            for no, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                arg = m.group(1).strip()
                mq = re.match(r'"([^"]+)"|<([^>]+)>', arg)
                rel = os.path.relpath(path, os.path.dirname(src))
                if not mq:
                    add("include", frm, "?", f"{rel}:{no} includes a computed name {arg}")
                    continue
                name = mq.group(1) or mq.group(2)
                target = resolve(name, mq.group(1) is not None, path, dirs)
                to = folder_of(target, src) if target else None
                if to is None and mq.group(1) is not None and "/" in name \
                        and name.split("/")[0] in os.listdir(src):
                    add("include", frm, "?", f"{rel}:{no} includes {name}, which does not exist")
                elif to and to != frm:
                    add("include", frm, to, f"{rel}:{no} includes {name}")
                    if os.path.basename(target).endswith("-int.h"):
                        add("private", frm, to, f"{rel}:{no} includes {name}")


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        fail(f"{' '.join(cmd)} failed: {e}")


def object_strings(obj):
    """The string constants of an object (its .rodata sections)."""
    sections = re.findall(r"\]\s+(\.rodata\S*)", run(["readelf", "-W", "-S", obj]))
    if not sections:
        return []
    cmd = ["readelf", "-W"] + [a for s in sections for a in ("-p", s)] + [obj]
    out = []
    for line in run(cmd).splitlines():
        m = re.match(r"\s*\[\s*[0-9a-f]+\]\s+(.*)$", line)
        if m:
            out.append(m.group(1))
    return out


def symbol_edges(src, units, owns, peers, add):
    """Calls, globals, data-directory file names and peer calls, from the objects."""
    defs, data, uses = {}, set(), []
    for source, obj, _ in units:
        if not os.path.isfile(obj):
            fail(f"{obj} is missing: build first")
        for line in run(["objdump", "-t", obj]).splitlines():
            m = SYMBOL_RE.match(line)
            if not m:
                continue
            flags, section, name = m.group(1), m.group(2), m.group(3).split()[-1]
            if section == "*UND*":
                uses.append((source, obj, name))
            elif flags[0] in "gu" or flags[1] == "w":
                defs.setdefault(name, source)
                # Writable: .data (not .data.rel.ro, read-only after relocation), .bss, common.
                if flags[6] == "O" and (section in (".bss", "*COM*") or
                                        section.startswith((".data", ".bss")) and
                                        not section.startswith(".data.rel.ro")):
                    data.add(name)
    for source, obj, sym in uses:
        if sym not in defs:
            continue
        frm, to = folder_of(source, src), folder_of(defs[sym], src)
        rel = os.path.relpath(source, os.path.dirname(src))
        if frm != to:
            add("call", frm, to, f"{rel} uses {sym}")
            if PRIVATE_SYM.match(sym):
                add("private", frm, to, f"{rel} uses {sym}")
            if sym in data:
                add("global", frm, to, f"{rel} uses the variable {sym}")
        elif frm in peers and source != defs[sym]:
            a, b = os.path.basename(source), os.path.basename(defs[sym])
            if a not in peers[frm] and b not in peers[frm]:
                add("peer", f"{frm}/{a}", f"{frm}/{b}", f"{rel} uses {sym}")
    for source, obj, _ in units:
        frm = folder_of(source, src)
        for s in object_strings(obj):
            for name, owners in owns.items():
                if name in s and frm not in owners:
                    rel = os.path.relpath(source, os.path.dirname(src))
                    for to in sorted(owners):
                        add("file", frm, to, f"{rel} names {name} in \"{s[:60]}\"")


def main():
    here = os.path.dirname(os.path.realpath(__file__))
    args, opts = sys.argv[1:], {"--build": os.path.join(here, "..", "build"),
                                "--src": os.path.join(here, "..", "src"),
                                "--table": os.path.join(here, "layers.table")}
    allow_stale = listing = False
    while args:
        a = args.pop(0)
        if a == "--allow-stale":
            allow_stale = True
        elif a == "--list":
            listing = True
        elif a in opts and args:
            opts[a] = args.pop(0)
        else:
            fail(f"usage: {sys.argv[0]} [--build DIR] [--src DIR] [--table FILE] [--allow-stale]"
                 " [--list]")
    src = os.path.realpath(opts["--src"])
    allow, peers, owns, exceptions = parse_table(opts["--table"])
    units = load_compile_db(opts["--build"], src)
    edges = {}

    def add(kind, frm, to, example):
        ex = edges.setdefault((kind, frm, to), [])
        if example not in ex:
            ex.append(example)

    include_edges(src, units, add)
    symbol_edges(src, units, owns, peers, add)
    bad = 0
    for (kind, frm, to), ex in sorted(edges.items()):
        if kind in ("include", "call") and frm in allow and to in allow[frm]:
            if listing:
                print(f"  allowed   {kind:7} {frm} -> {to} ({len(ex)})")
            continue
        if (kind, frm, to) in exceptions:
            if listing:
                print(f"  exception {kind:7} {frm} -> {to} ({len(ex)}): e.g. {ex[0]}")
            continue
        listed = kind == "peer" or frm in allow
        why = "not allowed" if listed else "unknown folder (add it to the table)"
        more = f" (+{len(ex) - MAX_EXAMPLES} more)" if len(ex) > MAX_EXAMPLES else ""
        print(f"check-layers: {kind} {frm} -> {to} {why}: " + "; ".join(ex[:MAX_EXAMPLES]) + more)
        bad += 1
    stale = [k for k in exceptions if k not in edges]
    for kind, frm, to in ([] if allow_stale else stale):
        print(f"check-layers: stale exception 'except {kind} {frm} -> {to}' no longer occurs:"
              f" remove it from the table")
    if not allow_stale:
        bad += len(stale)
    known = len(exceptions) - len(stale)
    print(f"check-layers: {len(units)} objects, {len(edges)} cross-folder edges, {known} known"
          f" exceptions (scripts/layers.table), {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
