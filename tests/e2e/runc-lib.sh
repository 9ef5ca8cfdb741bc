# Helpers for the t062x tests of the OCI runtime (sourced after lib.sh): skip where runc cannot
# run containers, busybox-static images built in the test, pod accessors, and where a pod's
# container lives on the host (its init's PID, its cgroups).

runc_skip_checks() {
    [ "$(id -u)" = 0 ] || { say "SKIP: containers need root"; exit 0; }
    command -v runc >/dev/null || { say "SKIP: no runc"; exit 0; }
    [ -x /bin/busybox ] || { say "SKIP: no busybox-static"; exit 0; }
    unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }
}

# bbimage REF [CONFIG-JSON]: a root of busybox-static (/bin/busybox plus its applets as
# symlinks), an /etc/passwd with root and app (1000), imported as REF.
bbimage() {
    local ref=$1 cfg=${2:-'{"Cmd":["sh"],"Env":["PATH=/bin"]}'} dir
    dir=$TEST_DIR/bb-$(printf '%s' "$ref" | tr -c 'a-zA-Z0-9' '_')
    mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/www"
    cp /bin/busybox "$dir/bin/busybox"
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -sf busybox "$dir/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/tmp:/bin/sh\n' >"$dir/etc/passwd"
    printf 'root:x:0:\napp:x:1000:\n' >"$dir/etc/group"
    chmod 1777 "$dir/tmp"
    echo ok >"$dir/www/index.html"
    printf '%s\n' "$cfg" >"$dir/image.json"
    "$KROLL_BIN" image import "$dir" "$ref" --data-dir "$KROLL_DATA" >/dev/null ||
        { fail "import $ref"; exit 1; }
}

pod_field() { kubectl get pod "$1" -o jsonpath="{$2}" 2>/dev/null; }
pod_uid() { pod_field "$1" .metadata.uid; }
pod_dir() { echo "$KROLL_DATA/pods/$(pod_uid "$1")"; }
# The host PID of a container's init (runc's pid file in its bundle).
ctr_pid() { cat "$(pod_dir "$1")/ctr/$2/pid" 2>/dev/null; }
# A container's cgroup directory in hierarchy $3 (pids, memory...), from its init's /proc entry.
ctr_cgroup() {
    local pid cg
    pid=$(ctr_pid "$1" "$2") || return 1
    cg=$(awk -F: -v c="$3" '$2 == c { print $3 }' "/proc/$pid/cgroup") || return 1
    echo "/sys/fs/cgroup/$3$cg"
}
wait_running() { # wait_running POD SECONDS
    wait_for "$2" "$1 is Running" -- sh_eval "test \"\$(kubectl get pod $1 -o jsonpath='{.status.phase}')\" = Running"
}

# pods_gone: containers outlive a test that does not wait: delete, and wait until their dirs are gone.
pods_gone() {
    kubectl delete pod --all --wait=false >/dev/null 2>&1
    wait_for 120 "every pod is gone and cleaned up" -- sh_eval \
        'test -z "$(kubectl get pods -o name 2>/dev/null)" && test -z "$(ls "$KROLL_DATA/pods")"'
}
