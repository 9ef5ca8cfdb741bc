#!/bin/bash
# t0611: images that tools no one here wrote are imported right. umoci writes a layout with
# three layers (a busybox base, a whiteout, an opaque directory); skopeo copies it to an
# oci-archive and to a docker-save archive; `image pull` fetches it through skopeo (from a
# local oci: layout, KROLL_PULL_TRANSPORT: tests reach no registry). Checked: the layers are in
# overlayfs format and stack to what umoci itself unpacks, images share their base's layer
# directory, and rm of the last tag takes the layers and blobs with it.
. "$(dirname "$0")/lib.sh"
command -v skopeo >/dev/null && command -v umoci >/dev/null && [ -x /bin/busybox ] ||
    { say "SKIP: skopeo, umoci or busybox-static missing (scripts/install-deps.sh)"; exit 0; }
img() { "$KROLL_BIN" image "$@" --data-dir "$KROLL_DATA"; }
layers() { img inspect "$1" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)[0]["Layers"]))'; }

LAY=$TEST_DIR/lay
cd "$TEST_DIR" || exit 1
umoci init --layout "$LAY" && umoci new --image "$LAY:base" || { fail "umoci init"; finish; }
mkdir -p r1/bin r1/etc r1/data
cp /bin/busybox r1/bin/ && ln -s busybox r1/bin/sh && chmod 4755 r1/bin/busybox
echo a >r1/etc/a && echo b >r1/etc/b && echo old >r1/data/old
mkdir -p r3 && echo new >r3/new
umoci insert --image "$LAY:base" r1 / &&
    umoci insert --image "$LAY:base" --tag v2 --whiteout /etc/a &&
    umoci insert --image "$LAY:v2" --opaque r3 /data || { fail "umoci insert"; finish; }
umoci unpack --image "$LAY:v2" umoci-bundle >/dev/null || fail "umoci unpack"

expect_rc 0 "import a umoci layout (tag picked by name)" -- "$KROLL_BIN" image import "$LAY" um/app:v2 --data-dir "$KROLL_DATA"
expect_rc 0 "import its base" -- "$KROLL_BIN" image import "$LAY" um/app:base --data-dir "$KROLL_DATA"
set -- $(layers um/app:v2)
expect_eq "$#" "3" "three layers, bottom first"
expect_eq "$(stat -c '%F %t:%T' "$2/etc/a")" "character special file 0:0" "whiteout is a 0/0 char device"
expect_eq "$(getfattr --only-values -n trusted.overlay.opaque "$3/data" 2>/dev/null ||
    python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' "$3/data")" \
    "y" "opaque dir has trusted.overlay.opaque=y"
expect_eq "$(stat -c %a "$1/bin/busybox")" "4755" "setuid bit kept"
expect_eq "$(layers um/app:base)" "$1" "base and v2 share the base layer directory"
mkdir -p merged
if mount -t overlay overlay -o "lowerdir=$3:$2:$1" merged 2>/dev/null; then
    expect_eq "$(cd merged && find . | sort | tr '\n' ' ')" \
        "$(cd umoci-bundle/rootfs && find . | sort | tr '\n' ' ')" "overlay of the layers = umoci's rootfs"
    umount merged
else
    say "skip - overlayfs mount unavailable here"
fi

skopeo copy -q "oci:$LAY:v2" "oci-archive:$TEST_DIR/sk.tar:sk/oci:2" || fail "skopeo copy oci-archive"
skopeo copy -q "oci:$LAY:v2" "docker-archive:$TEST_DIR/dk.tar:dk/save:2" || fail "skopeo copy docker-archive"
expect_rc 0 "import skopeo's oci-archive, name from its annotation" -- "$KROLL_BIN" image import "$TEST_DIR/sk.tar" --data-dir "$KROLL_DATA"
expect_rc 0 "import skopeo's docker-save archive, name from RepoTags" -- "$KROLL_BIN" image import "$TEST_DIR/dk.tar" --data-dir "$KROLL_DATA"
expect_eq "$(layers sk/oci:2)" "$(layers um/app:v2)" "the oci-archive shares all three layers"
expect_eq "$(layers dk/save:2)" "$(layers um/app:v2)" "the docker archive shares them too"
expect_eq "$(ls "$KROLL_DATA/images/layers" | grep -vc json)" "3" "three layer directories in all"

skopeo copy -q "oci:$LAY:v2" "oci:$TEST_DIR/reg:test/pulled:v2" || fail "skopeo copy to the pull source"
KROLL_PULL_TRANSPORT="oci:$TEST_DIR/reg:" expect_rc 0 "image pull through skopeo" -- "$KROLL_BIN" image pull test/pulled:v2 --data-dir "$KROLL_DATA"
expect_eq "$(layers test/pulled:v2)" "$(layers um/app:v2)" "the pulled image shares the layers"
KROLL_PULL_TRANSPORT="oci:$TEST_DIR/reg:" expect_rc 1 "pull of a missing image fails" -- "$KROLL_BIN" image pull test/pulled:nope --data-dir "$KROLL_DATA"
expect_match "$(cat "$TEST_DIR/out")" "skopeo failed" "and says skopeo failed"
expect_eq "$(ls "$KROLL_DATA/images" | tr '\n' ' ')" "blobs layers tags.json " "no pull leftovers"

for t in um/app:v2 sk/oci:2 dk/save:2 test/pulled:v2; do img rm "$t" >/dev/null || fail "rm $t"; done
set -- $(layers um/app:base)
expect_eq "$(ls "$KROLL_DATA/images/layers" | grep -vc json)" "1" "rm of v2's last tag drops its two layers"
[ -d "$1" ] && pass "the base layer stays for um/app:base" || fail "base layer gone"
img rm um/app:base >/dev/null
expect_eq "$(ls -A "$KROLL_DATA/images/layers" "$KROLL_DATA/images/blobs/sha256" | grep -c .)" "2" \
    "the last rm leaves no layer or blob (only the two directory headers)"
finish
