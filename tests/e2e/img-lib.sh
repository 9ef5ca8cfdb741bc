# Test images that run the same on the process runtime (a host directory, cwd = the image) and
# as containers (runc: the image is the container's whole root). Source after lib.sh:
#   img_root DIR                    DIR becomes a busybox-static root (mkrootfs.sh)
#   img_shell_dir DIR SCRIPT        + image.json: Entrypoint ["/bin/sh", "-c", PRELUDE SCRIPT]
#   img_import DIR REF              kroll image import into this test's data dir
#   mkimage REF SCRIPT              both, in $TEST_DIR/img-<ref>
# Files a pod shares with the test live in $TSHARE (a directory of its own, so pods never see
# the data dir): shell images get T=$TSHARE in their Env, and a pod that uses $T mounts it at
# the same path, as a user shares files with a pod:
#   spec:   volumes: $TVOL          container:   volumeMounts: $TMNT
# Scripts run under the host's sh and tools on the process runtime and under busybox in a
# container: they use what both have. A script that must end on SIGTERM traps it: as PID 1 of
# a container the kernel ignores a signal that has no handler (the process runtime does not). PRELUDE defines `now` (seconds.nanoseconds, as
# `date +%s.%N`, which busybox's date lacks) for scripts that time themselves.
IMG_MKROOTFS=$KROLL_SRC/examples/model-server/mkrootfs.sh
TSHARE=$TEST_DIR/share
mkdir -p "$TSHARE"
TVOL="[{name: tshare, hostPath: {path: $TSHARE}}]"
TMNT="[{name: tshare, mountPath: $TSHARE}]"
# busybox adjtimex without options only reads the clock (no capability needed).
IMG_PRELUDE='now() { case $(date +%N) in *N*) adjtimex | awk '"'"'/tv_sec/ { s = $2 } /tv_usec/ { u = $2 } END { printf "%d.%06d\n", s, u }'"'"' ;; *) date +%s.%N ;; esac; }
'

img_root() { # img_root DIR [BINARY:PATH...]
    "$IMG_MKROOTFS" "$@" >/dev/null || { fail "mkrootfs $1"; exit 1; }
}

img_shell_dir() { # img_shell_dir DIR SCRIPT
    img_root "$1"
    jq -n --arg s "$IMG_PRELUDE$2" --arg t "$TSHARE" \
        '{Entrypoint: ["/bin/sh", "-c", $s], Env: ["PATH=/usr/bin:/bin", "T=" + $t]}' \
        >"$1/image.json"
}

img_import() { # img_import DIR REF
    "$KROLL_BIN" image import "$1" "$2" --data-dir "$KROLL_DATA" >/dev/null ||
        { fail "image import $2"; exit 1; }
}

# mkimage REF SCRIPT: a shell image whose Entrypoint is ["/bin/sh", "-c", SCRIPT], imported.
mkimage() {
    local dir
    dir=$TEST_DIR/img-$(printf '%s' "$1" | tr -c 'a-zA-Z0-9' '_')
    img_shell_dir "$dir" "$2"
    img_import "$dir" "$1"
}
