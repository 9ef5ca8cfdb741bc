#!/bin/bash
# t0612: bad archives are refused with a clear error and leave the store byte for byte as it
# was (a checksum of the whole images/ tree before and after): path traversal in a layer ("..",
# absolute names, a symlink or hardlink leading out), a device node, a blob whose digest or
# size is wrong, a truncated archive, an unsupported media type, an oversized JSON document, and
# an image over the size cap. Nothing outside the store is written.
. "$(dirname "$0")/lib.sh"
img() { "$KROLL_BIN" image "$@" --data-dir "$KROLL_DATA"; }
sum() { (cd "$KROLL_DATA/images" && { find . ! -name .lock -printf '%p %m %s\n'; find . -type f ! -name .lock -exec sha256sum {} +; } | sort | sha256sum); }

# mk NAME KIND [ARG]: writes $TEST_DIR/NAME.tar, an oci-archive whose one layer holds what KIND
# says, with every digest right unless KIND is about a wrong one.
mk() {
    python3 - "$TEST_DIR" "$@" <<'PY'
import hashlib, io, json, os, sys, tarfile
d, name, kind = sys.argv[1], sys.argv[2], sys.argv[3]
def member(n, typ=tarfile.REGTYPE, data=b"", link=""):
    t = tarfile.TarInfo(n); t.type = typ; t.linkname = link; t.mode = 0o644; t.mtime = 1700000000
    t.size = len(data) if typ == tarfile.REGTYPE else 0
    return t, data
ms = {"dotdot": [member("../evil", data=b"x")],
      "abs": [member("/tmp/kroll-t0612-evil", data=b"x")],
      "symlink": [member("x", tarfile.SYMTYPE, link="/tmp"), member("x/kroll-t0612-evil", data=b"x")],
      "hardlink": [member("x", tarfile.LNKTYPE, link="/etc/passwd")],
      "hardlink-up": [member("x", tarfile.LNKTYPE, link="../../../../etc/passwd")],
      "hardlink-via-symlink": [member("l", tarfile.SYMTYPE, link="/etc"),
                               member("x", tarfile.LNKTYPE, link="l/passwd")],
      "device": [member("dev/sda", tarfile.BLKTYPE)],
     }.get(kind, [member("bin/ok", data=b"fine\n" * 300)])
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
    for t, data in ms: tf.addfile(t, io.BytesIO(data))
layer = buf.getvalue()
if kind == "truncated-layer": layer = layer[:700]
blobs = {}
def put(b):
    h = "sha256:" + hashlib.sha256(b).hexdigest(); blobs[h] = b; return h
diff = "sha256:" + hashlib.sha256(layer).hexdigest()
lmt = "application/vnd.oci.image.layer.v1.tar" if kind != "mediatype" else "application/x-rar"
ld = put(layer)
cfg = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/ok"]},
       "rootfs": {"type": "layers", "diff_ids": [diff]}}
if kind == "bigjson": cfg["comment"] = "x" * (5 << 20)
cb = json.dumps(cfg).encode(); cd = put(cb)
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(cb)},
       "layers": [{"mediaType": lmt, "digest": ld, "size": len(layer) + (kind == "size")}]}
mb = json.dumps(man).encode(); md = put(mb)
if kind == "digest": blobs[ld] = layer[:-1] + b"\x01"
idx = {"schemaVersion": 2, "manifests": [{"mediaType": man["mediaType"], "digest": md,
       "size": len(mb), "annotations": {"org.opencontainers.image.ref.name": "bad/" + kind + ":1"}}]}
out = io.BytesIO()
with tarfile.open(fileobj=out, mode="w") as tf:
    def add(n, b):
        t = tarfile.TarInfo(n); t.size = len(b); tf.addfile(t, io.BytesIO(b))
    add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'); add("index.json", json.dumps(idx).encode())
    for h, b in blobs.items(): add("blobs/sha256/" + h[7:], b)
data = out.getvalue()
if kind == "truncated-archive": data = data[:len(data) // 2]
open(os.path.join(d, name + ".tar"), "wb").write(data)
PY
}

mk good good && img import "$TEST_DIR/good.tar" >/dev/null || fail "a good archive imports"
expect_match "$(img ls)" "bad/good +1" "the store holds an image while refusing others"
before=$(sum)
check() { # check KIND MESSAGE-REGEX
    mk "$1" "$1"
    img import "$TEST_DIR/$1.tar" >"$TEST_DIR/out" 2>&1; local rc=$?
    expect_eq "$rc" "1" "$1 refused"
    expect_match "$(cat "$TEST_DIR/out")" "$2" "$1: clear error"
    expect_eq "$(sum)" "$before" "$1: store unchanged"
}
check dotdot '"\.\." path refused'
check abs 'absolute'
check symlink 'refused'
check hardlink 'hard link to "/etc/passwd" points outside'
check hardlink-up 'points outside the layer'
check hardlink-via-symlink 'refused: Cannot extract through symlink'
expect_eq "$(stat -c %h /etc/passwd)" "1" "no hard link to the host's /etc/passwd was made"
check device 'device nodes are not allowed'
check digest 'digest mismatch'
check size 'size mismatch'
check truncated-layer 'runcated'
check truncated-archive 'runcated'
check mediatype 'unsupported mediaType "application/x-rar"'
check bigjson 'more than the 4194304 allowed'
[ -e /tmp/kroll-t0612-evil ] && fail "a file was written outside the store" || pass "nothing written outside"
mk capped good
KROLL_IMAGE_MAX_BYTES=2000 expect_rc 1 "an image over KROLL_IMAGE_MAX_BYTES is refused" -- \
    "$KROLL_BIN" image import "$TEST_DIR/capped.tar" other:1 --data-dir "$KROLL_DATA"
expect_match "$(cat "$TEST_DIR/out")" "larger than the import limit of 2000 bytes" "and says the limit"
expect_eq "$(sum)" "$before" "cap: store unchanged"
expect_rc 1 "a file that is no archive is refused" -- "$KROLL_BIN" image import /etc/hostname x:1 --data-dir "$KROLL_DATA"
expect_eq "$(sum)" "$before" "non-archive: store unchanged"
expect_eq "$(ls -A "$KROLL_DATA/images" | grep -c stage)" "0" "no staging directory left behind"
finish
