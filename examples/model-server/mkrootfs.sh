#!/bin/sh
# mkrootfs.sh DEST [BINARY:PATH ...]: makes DEST a complete minimal root that runs the same as a
# host directory on the process runtime and as a container's root under runc: busybox-static at
# /bin/busybox with the applet links a shell user expects, /etc/passwd and /etc/group with root
# and nobody, /tmp, the empty mount points a container runtime fills (/proc, /sys, /dev), and
# each BINARY copied to DEST/PATH with the shared libraries `ldd` lists (and the dynamic loader)
# at their host paths, so nothing of the host is needed inside. A static binary needs nothing.
# Used by the model-server images (examples/CMakeLists.txt) and the e2e tests (img-lib.sh).
# BUSYBOX overrides the busybox binary (default /bin/busybox, Debian's busybox-static).
set -eu

[ $# -ge 1 ] || { echo "usage: mkrootfs.sh DEST [BINARY:PATH ...]" >&2; exit 2; }
dest=$1; shift
busybox=${BUSYBOX:-/bin/busybox}

# A dynamically linked busybox would need the host's libc inside the root: refuse it.
if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
    echo "mkrootfs.sh: $busybox is missing or not static (install busybox-static)" >&2
    exit 1
fi

mkdir -p "$dest/bin" "$dest/etc" "$dest/tmp" "$dest/proc" "$dest/sys" "$dest/dev" "$dest/root"
chmod 1777 "$dest/tmp"
cp -f "$busybox" "$dest/bin/busybox"
chmod 755 "$dest/bin/busybox"
# What a shell user and the tests reach for; `busybox --list` has ~270 applets, most of them
# system administration (reboot, fdisk, modprobe) that have no place in a container.
wanted="sh ash ls cat ps wget sleep echo env grep egrep sed awk head tail wc cp mv rm mkdir
rmdir ln touch chmod chown id date kill hostname nc httpd test [ true false printf pwd sort uniq
cut tr tee find xargs stat du df uname which ping free top vi less timeout seq basename dirname
readlink realpath nslookup netstat ip usleep expr md5sum sha256sum mkfifo mktemp whoami yes od
hexdump dd sync nproc setsid adjtimex"
# One grep (each line of the pattern is a fixed string) instead of one per applet.
for a in $("$busybox" --list | grep -Fx "$(printf '%s\n' $wanted)"); do
    ln -sf busybox "$dest/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$dest/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dest/etc/group"

# copy_host_file SRC: copies SRC into the root at the same path (libraries and the loader).
copy_host_file() {
    mkdir -p "$dest$(dirname "$1")"
    cp -fL "$1" "$dest$1"
}

for spec in "$@"; do
    src=${spec%%:*}
    to=${spec#*:}
    mkdir -p "$dest$(dirname "/$to")"
    cp -f "$src" "$dest/$to"
    chmod 755 "$dest/$to"
    # ldd lines are "name => /path (addr)" or "/lib64/ld-linux... (addr)"; a static binary
    # makes ldd fail, and then there is nothing to copy.
    libs=$(ldd "$src" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p') || true
    for l in $libs; do copy_host_file "$l"; done
done
