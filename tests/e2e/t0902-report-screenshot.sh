#!/bin/bash
# t0902: the demo's HTML report renders: a short `kroll demo --only rolling-update` makes a
# report, headless Chromium screenshots it, and the PNG must be non-trivial: many distinct
# colours (the timeline's blue/green areas, axis text) rather than a blank page. Skips with a
# message when Chromium is missing and cannot be installed (scripts/install-deps.sh lists it).
. "$(dirname "$0")/lib.sh"

IMAGES=$KROLL_BUILD/examples/images
[ -f "$IMAGES/images.txt" ] || { say "SKIP: no model-server images in $IMAGES"; exit 0; }
unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }
if ! command -v chromium >/dev/null 2>&1; then
    "$KROLL_SRC/scripts/install-deps.sh" >"$TEST_DIR/deps.out" 2>&1
fi
if ! command -v chromium >/dev/null 2>&1; then
    say "SKIP: chromium is not installed and could not be installed ($(tail -n 1 "$TEST_DIR/deps.out"))"
    exit 0
fi
command -v python3 >/dev/null 2>&1 || { say "SKIP: python3 needed to decode the PNG"; exit 0; }
trap 'rc=$?; "$KROLL_BIN" stop --data-dir "$KROLL_DATA" >/dev/null 2>&1; (exit $rc); cleanup' EXIT

expect_rc 0 "kroll demo --only rolling-update" -- \
    timeout 200 "$KROLL_BIN" demo --data-dir "$KROLL_DATA" --images "$IMAGES" --only rolling-update
report=$KROLL_DATA/demo-report.html
[ -f "$report" ] || { fail "no report at $report"; finish; }

shot() { # shot FILE.html OUT.png
    timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$TEST_DIR/chrome-$(basename "$2")" --screenshot="$2" --window-size=1200,900 \
        "file://$1" >"$TEST_DIR/chrome.log" 2>&1
}
shot "$report" "$TEST_DIR/report.png"
[ -s "$TEST_DIR/report.png" ] || { tail -n 20 "$TEST_DIR/chrome.log"; fail "no screenshot written"; finish; }
printf '<!DOCTYPE html><html><body></body></html>\n' >"$TEST_DIR/blank.html"
shot "$TEST_DIR/blank.html" "$TEST_DIR/blank.png"

# Distinct colours of a PNG (8-bit RGB/RGBA, non-interlaced: what Chromium writes), decoded
# with the standard library only.
cat >"$TEST_DIR/colours.py" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, hdr = 8, b'', None
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        hdr = struct.unpack('>IIBBBBB', body)
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = hdr
assert depth == 8 and ctype in (2, 6) and interlace == 0, 'unsupported PNG %r' % (hdr,)
bpp = 3 if ctype == 2 else 4
raw, stride, prev, seen, i = zlib.decompress(idat), w * bpp, bytearray(w * bpp), set(), 0
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 3 == 0:
        for x in range(0, stride, bpp * 2):
            seen.add(bytes(line[x:x + 3]))
    prev = line
print(w, h, len(seen))
PY
read -r w h colours < <(python3 "$TEST_DIR/colours.py" "$TEST_DIR/report.png")
read -r _ _ blank < <(python3 "$TEST_DIR/colours.py" "$TEST_DIR/blank.png")
say "report screenshot ${w}x${h}: $colours colours (blank page: $blank), $(stat -c %s "$TEST_DIR/report.png") bytes"
expect_eq "${w}x${h}" "1200x900" "screenshot has the window size"
[ "${colours:-0}" -ge 40 ] && pass "screenshot is not blank ($colours colours)" || fail "only ${colours:-0} colours"
[ "${blank:-99}" -le 3 ] && pass "the colour check tells a blank page apart ($blank colours)" || fail "blank page has $blank colours"
size=$(stat -c %s "$TEST_DIR/report.png"); bsize=$(stat -c %s "$TEST_DIR/blank.png")
[ "$size" -gt $((bsize * 5)) ] && pass "screenshot much larger than a blank render ($size vs $bsize bytes)" ||
    fail "screenshot $size bytes vs blank $bsize"
finish
