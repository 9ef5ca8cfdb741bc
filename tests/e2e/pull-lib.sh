# Helpers for the t061x pull tests (sourced after lib.sh): images pushed to the test's own OCI
# layout, which the server pulls from (kroll_start points KROLL_PULL_TRANSPORT at
# $TEST_DIR/registry: no registry is reached). Images are busybox-static roots, so the same
# test runs on the process runtime and under KROLL_RUNTIME=runc.
REG=$TEST_DIR/registry

pull_skip_checks() {
    command -v skopeo >/dev/null && [ -x /bin/busybox ] && command -v jq >/dev/null ||
        { say "SKIP: skopeo, jq or busybox-static missing (scripts/install-deps.sh)"; exit 0; }
    unshare -n true 2>/dev/null || { say "SKIP: no network namespaces here"; exit 0; }
}

# pushimage REF SCRIPT: a busybox-static root whose Entrypoint is /bin/sh -c SCRIPT, built by
# `kroll image build` into an oci-archive and copied by skopeo into the layout as REF
# (replacing what REF named there). Nothing enters the server's store.
pushimage() {
    local ref=$1 script=$2 dir
    dir=$TEST_DIR/src-$(printf '%s' "$ref" | tr -c 'a-zA-Z0-9' '_')
    rm -rf "$dir" "$dir.tar"
    mkdir -p "$dir/bin" "$dir/tmp"
    cp /bin/busybox "$dir/bin/busybox"
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -sf busybox "$dir/bin/$a"
    done
    jq -n --arg s "$script" '{Entrypoint: ["/bin/sh", "-c", $s], Env: ["PATH=/bin"]}' \
        >"$dir/image.json"
    "$KROLL_BIN" image build "$dir" -t "$ref" --output "oci-archive:$dir.tar" >/dev/null &&
        skopeo copy -q "oci-archive:$dir.tar" "oci:$REG:$ref" ||
        { fail "push $ref to the test's layout"; exit 1; }
}

# The manifest digest REF has in the layout (what imageID must name).
reg_digest() { skopeo inspect --format '{{.Digest}}' "oci:$REG:$1"; }
in_store() { "$KROLL_BIN" image inspect "$1" --data-dir "$KROLL_DATA" >/dev/null 2>&1; }
phase_of() { kubectl get pod "$1" -o jsonpath='{.status.phase}' 2>/dev/null; }
wreason_of() { kubectl get pod "$1" -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' 2>/dev/null; }
# "reason|message" of a pod's events, in the order they were recorded.
pod_events() {
    kubectl get events --field-selector "involvedObject.name=$1" \
        -o jsonpath='{range .items[*]}{.type} {.reason}|{.message}{"\n"}{end}' 2>/dev/null
}

# Deletes the test's pods (bounded) before finish: under runc their containers and rootfs
# mounts go with them, so the data dir is left with nothing mounted.
pull_finish() {
    timeout 60 kubectl delete pods --all --wait=true >/dev/null 2>&1 ||
        say "pods not deleted within 60 s"
    finish
}
