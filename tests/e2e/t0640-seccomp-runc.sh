#!/bin/bash
# Seccomp profiles applied by the real runc to a hand-made bundle (busybox-static rootfs,
# `runc spec`, the profile kroll generates inserted as linux.seccomp): RuntimeDefault lets a
# shell, ls and sleep run, answers unshare(CLONE_NEWUSER) and mount(2) with EPERM where the same
# bundle without a profile succeeds, lets mount through when the bounding set has
# CAP_SYS_ADMIN, and /proc/1/status says "Seccomp: 2". A Localhost profile in docker format is
# converted and enforced with its own errno.
. "$(dirname "$0")/lib.sh"

RUNC=$(command -v runc) || { say "SKIP: runc is not installed"; exit 0; }
BUSYBOX=$(command -v busybox) || { say "SKIP: busybox-static is not installed"; exit 0; }
PROFILE=$KROLL_BUILD/tests/helper/kroll-seccomp-profile
[ -x "$PROFILE" ] || { fail "$PROFILE is not built"; finish; }
[ "$(id -u)" = 0 ] || { say "SKIP: runc needs root"; exit 0; }

STATE=$TEST_DIR/runc-state
BUNDLE=$TEST_DIR/bundle
IDS=""
runc_cleanup() {
    for id in $IDS; do "$RUNC" --root "$STATE" delete -f "$id" >/dev/null 2>&1; done
}
trap 'rc=$?; runc_cleanup; (exit $rc); cleanup' EXIT

mkdir -p "$BUNDLE"/rootfs/{bin,proc,dev,sys,tmp} "$TEST_DIR/data/seccomp"
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
for c in sh ls sleep cat grep unshare mount mkdir; do ln -s busybox "$BUNDLE/rootfs/bin/$c"; done
(cd "$BUNDLE" && "$RUNC" spec) || { fail "runc spec"; finish; }
cp "$BUNDLE/config.json" "$TEST_DIR/spec.json"

# bundle_run NAME SECCOMP(default|none|FILE) "CAP ..." SCRIPT: writes config.json from the
# pristine `runc spec` output and runs it; the output goes to $TEST_DIR/NAME.out.
bundle_run() {
    local name=$1 sc=$2 caps=$3 script=$4 id="t0640-$$-$1"
    python3 - "$TEST_DIR/spec.json" "$BUNDLE/config.json" "$sc" "$caps" "$script" "$PROFILE" <<'EOF'
import json, subprocess, sys
src, dst, sc, caps, script, profile = sys.argv[1:7]
c = json.load(open(src))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c", script]
c["root"]["readonly"] = False
for k in ("bounding", "effective", "permitted"):
    c["process"]["capabilities"][k] = sorted(set(c["process"]["capabilities"][k] + caps.split()))
bounding = c["process"]["capabilities"]["bounding"]
if sc == "default":
    c["linux"]["seccomp"] = json.loads(subprocess.check_output([profile, "default"] + bounding))
elif sc == "default-without-sys-admin":
    rest = [x for x in bounding if x != "CAP_SYS_ADMIN"]
    c["linux"]["seccomp"] = json.loads(subprocess.check_output([profile, "default"] + rest))
elif sc != "none":
    d, n = sc.split(":", 1)
    c["linux"]["seccomp"] = json.loads(subprocess.check_output([profile, "localhost", d, n] + bounding))
else:
    c["linux"].pop("seccomp", None)
json.dump(c, open(dst, "w"))
EOF
    IDS="$IDS $id"
    timeout 120 "$RUNC" --root "$STATE" run -b "$BUNDLE" "$id" >"$TEST_DIR/$name.out" 2>&1
    echo "rc=$?" >>"$TEST_DIR/$name.out"
    "$RUNC" --root "$STATE" delete -f "$id" >/dev/null 2>&1
}

SCRIPT='grep Seccomp: /proc/1/status; ls /bin >/dev/null && echo ls=ok; sleep 0.1 && echo sleep=ok
unshare -U true; echo unshare=$?; mount -t tmpfs none /tmp; echo mount=$?'

bundle_run unconfined none "" "$SCRIPT"
out=$(cat "$TEST_DIR/unconfined.out")
expect_match "$out" 'Seccomp:.0' "without a profile: no seccomp filter"
expect_match "$out" 'unshare=0' "without a profile: an unprivileged user namespace can be made"

bundle_run default default "" "$SCRIPT"
out=$(cat "$TEST_DIR/default.out")
expect_match "$out" 'Seccomp:.2' "RuntimeDefault: /proc/1/status shows Seccomp: 2 (filter mode)"
expect_match "$out" 'ls=ok' "RuntimeDefault: ls works"
expect_match "$out" 'sleep=ok' "RuntimeDefault: sleep works"
expect_match "$out" 'unshare\(0x10000000\): Operation not permitted' "RuntimeDefault: unshare(CLONE_NEWUSER) fails with EPERM"
expect_match "$out" 'unshare=1' "RuntimeDefault: unshare exits non-zero"
expect_match "$out" 'rc=0' "RuntimeDefault: the container's shell exits 0"

# With CAP_SYS_ADMIN in the container, only the profile stands between it and mount(2).
MSCRIPT='mount -t tmpfs none /tmp; echo mount=$?'
bundle_run admin-unconfined none "CAP_SYS_ADMIN" "$MSCRIPT"
expect_match "$(cat "$TEST_DIR/admin-unconfined.out")" 'mount=0' "CAP_SYS_ADMIN, no profile: mount works (control)"
bundle_run admin-filtered default-without-sys-admin "CAP_SYS_ADMIN" "$MSCRIPT"
expect_match "$(cat "$TEST_DIR/admin-filtered.out")" 'mount=255|permission denied' "profile made without CAP_SYS_ADMIN: mount is refused by seccomp"
bundle_run admin-default default "CAP_SYS_ADMIN" "$MSCRIPT"
expect_match "$(cat "$TEST_DIR/admin-default.out")" 'mount=0' "profile made with CAP_SYS_ADMIN: mount allowed"

# Localhost, docker format: everything allowed but mkdir/mkdirat, which fail with EACCES (13).
mkdir -p "$TEST_DIR/data/seccomp/profiles"
cat >"$TEST_DIR/data/seccomp/profiles/no-mkdir.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
             {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
              {"name": "reboot", "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_BOOT"]}}]}
EOF
bundle_run localhost "$TEST_DIR/data:profiles/no-mkdir.json" "" 'mkdir /tmp/d; echo mkdir=$?; ls / >/dev/null && echo ls=ok; grep Seccomp: /proc/self/status'
out=$(cat "$TEST_DIR/localhost.out")
expect_match "$out" "Permission denied" "Localhost: mkdir fails with the profile's errno (EACCES)"
expect_match "$out" 'mkdir=1' "Localhost: mkdir exits 1"
expect_match "$out" 'ls=ok' "Localhost: the rest is allowed"
expect_match "$out" 'Seccomp:.2' "Localhost: filter mode"

# A refused Localhost profile says why, in the words the kubelet would report.
echo '{"defaultAction": "SCMP_ACT_NOTIFY"}' >"$TEST_DIR/data/seccomp/notify.json"
expect_match "$("$PROFILE" localhost "$TEST_DIR/data" notify.json 2>&1)" 'localhost profile "notify.json": defaultAction: unknown action "SCMP_ACT_NOTIFY"' "a profile with an unknown action is refused with a clear message"
expect_match "$("$PROFILE" localhost "$TEST_DIR/data" ../../etc/passwd 2>&1)" "must not contain '..'" "a profile name with .. is refused"
finish
