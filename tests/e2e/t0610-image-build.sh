#!/bin/bash
# t0610: `kroll image build` turns a directory with image.json (here a busybox-static root) into
# a real single-layer OCI image: imported into the store (ls shows its IMAGE ID, inspect its
# config), or written as an oci-archive that skopeo inspects and an OCI layout umoci unpacks
# to the same files, which podman loads and saves back in both its formats for kroll to import;
# with SOURCE_DATE_EPOCH two builds are byte-identical.
. "$(dirname "$0")/lib.sh"
command -v skopeo >/dev/null && command -v umoci >/dev/null && [ -x /bin/busybox ] ||
    { say "SKIP: skopeo, umoci or busybox-static missing (scripts/install-deps.sh)"; exit 0; }

ROOT=$TEST_DIR/root
mkdir -p "$ROOT/bin" "$ROOT/etc"
cp /bin/busybox "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
echo 'hello from the image' >"$ROOT/etc/motd"
cat >"$ROOT/image.json" <<'JSON'
{"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["cat /etc/motd"], "Env": ["PATH=/bin"],
 "WorkingDir": "/", "User": "1000:1000", "Labels": {"app": "bb"}, "StopSignal": "SIGINT",
 "ExposedPorts": {"8080/tcp": {}}}
JSON
img() { "$KROLL_BIN" image "$@" --data-dir "$KROLL_DATA"; }

expect_rc 0 "build -t imports" -- "$KROLL_BIN" image build "$ROOT" -t test/bb:1 --data-dir "$KROLL_DATA"
ls_out=$(img ls)
expect_match "$ls_out" "REPOSITORY +TAG +IMAGE ID +SIZE +CREATED" "ls header like docker"
id=$(img inspect test/bb:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
expect_match "$ls_out" "test/bb +1 +${id:7:12} +[0-9.]+MB" "ls shows the 12-hex IMAGE ID and the size"
insp=$(img inspect test/bb:1)
for k in '"User": "1000:1000"' '"StopSignal": "SIGINT"' '"8080/tcp"' '"Architecture": "amd64"' \
    '"Os": "linux"' '"RepoTags": \[' '"test/bb:1"' '"RepoDigests"' '"diff_ids"'; do
    expect_match "$insp" "$k" "inspect shows $k"
done
layer=$(img inspect test/bb:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Layers"][0])')
expect_eq "$(cat "$layer/etc/motd")" "hello from the image" "the layer holds the files"
expect_eq "$(stat -c '%a %u' "$layer/bin/busybox")" "$(stat -c %a /bin/busybox) 0" "mode kept, owner 0"
expect_eq "$(readlink "$layer/bin/sh")" "busybox" "symlink kept"
[ -e "$layer/image.json" ] && fail "image.json is config, not layer content" || pass "image.json not in the layer"

export SOURCE_DATE_EPOCH=1700000000
expect_rc 0 "build --output oci-archive" -- "$KROLL_BIN" image build "$ROOT" -t test/bb:1 --output "oci-archive:$TEST_DIR/a.tar"
expect_rc 0 "build it again" -- "$KROLL_BIN" image build "$ROOT" -t test/bb:1 --output "oci-archive:$TEST_DIR/b.tar"
expect_eq "$(sha256sum <"$TEST_DIR/a.tar")" "$(sha256sum <"$TEST_DIR/b.tar")" "reproducible with SOURCE_DATE_EPOCH"
sk=$(skopeo inspect "oci-archive:$TEST_DIR/a.tar" 2>&1)
expect_match "$sk" '"Architecture": "amd64"' "skopeo inspect accepts the oci-archive"
expect_match "$sk" '"app": "bb"' "skopeo sees the labels"
expect_match "$(skopeo inspect --config "oci-archive:$TEST_DIR/a.tar" 2>&1)" '"Entrypoint"' "skopeo reads the config"
expect_rc 0 "skopeo copies it to a docker archive" -- skopeo copy -q "oci-archive:$TEST_DIR/a.tar" "docker-archive:$TEST_DIR/d.tar:test/bb:1"

# podman, a tool no one here wrote, loads the archive as `docker load` would, in a store of
# the test's own (vfs: plain directories, no mounts left behind), and saves it back in both of
# its formats, which kroll imports.
if command -v podman >/dev/null; then
    pm() { timeout 120 podman --root "$TEST_DIR/pm" --runroot "$TEST_DIR/pmrun" --storage-driver vfs \
        --cgroup-manager cgroupfs --events-backend none "$@"; }
    expect_match "$(pm load -i "$TEST_DIR/a.tar" 2>&1)" "Loaded image: localhost/test/bb:1" "podman load accepts it"
    expect_eq "$(pm image inspect test/bb:1 --format '{{.Config.Entrypoint}} {{.Config.Cmd}} {{.Config.User}}')" \
        "[/bin/sh -c] [cat /etc/motd] 1000:1000" "podman reads the config"
    mnt=$(pm image mount test/bb:1)
    expect_eq "$(cat "$mnt/etc/motd" 2>&1)" "hello from the image" "podman's root has the files"
    pm image unmount test/bb:1 >/dev/null
    expect_rc 0 "podman save --format oci-archive" -- pm save -q --format oci-archive -o "$TEST_DIR/pm-oci.tar" test/bb:1
    expect_rc 0 "podman save (docker-archive)" -- pm save -q -o "$TEST_DIR/pm-docker.tar" test/bb:1
    for f in pm-oci pm-docker; do
        expect_rc 0 "$f imports" -- "$KROLL_BIN" image import "$TEST_DIR/$f.tar" "test/$f:1" --data-dir "$KROLL_DATA"
        expect_match "$(img inspect "test/$f:1")" '"cat /etc/motd"' "$f keeps the Cmd"
    done
    img rm test/pm-oci:1 >/dev/null && img rm test/pm-docker:1 >/dev/null
else
    say "podman missing (scripts/install-deps.sh --test): podman load not checked"
fi

expect_rc 0 "build --output oci:DIR" -- "$KROLL_BIN" image build "$ROOT" -t bb --output "oci:$TEST_DIR/lay"
expect_rc 0 "umoci unpacks the layout" -- umoci unpack --image "$TEST_DIR/lay:bb" "$TEST_DIR/bundle"
expect_eq "$(cat "$TEST_DIR/bundle/rootfs/etc/motd")" "hello from the image" "umoci's rootfs has the files"
expect_match "$(cat "$TEST_DIR/bundle/config.json")" '"cat /etc/motd"' "umoci's runtime config has the Cmd"
expect_rc 0 "the archive imports back under its own name" -- "$KROLL_BIN" image import "$TEST_DIR/a.tar" --data-dir "$KROLL_DATA"
expect_eq "$(img ls | awk 'NR > 1 { print $1 ":" $2 }' | sort | tr '\n' ' ')" "test/bb:1 " "one tag, re-pointed"

expect_rc 1 "build without image.json fails" -- "$KROLL_BIN" image build "$TEST_DIR/bundle" -t x:1 --data-dir "$KROLL_DATA"
expect_match "$(cat "$TEST_DIR/out")" "has no image.json" "and says why"
# make writes the example model server as OCI archives too: a registry takes them as they are.
MS_TAR=$KROLL_BUILD/examples/images/tf-serving-1.0.3.tar
expect_match "$(skopeo inspect "oci-archive:$MS_TAR" 2>&1)" '"MODEL_VERSION=1.0.3"' \
    "skopeo reads make's model-server archive"
expect_rc 0 "the model-server archive imports" -- "$KROLL_BIN" image import "$MS_TAR" \
    myrepo/tf-serving:1.0.3 --data-dir "$KROLL_DATA"
expect_match "$("$KROLL_BIN" image inspect myrepo/tf-serving:1.0.3 --data-dir "$KROLL_DATA")" \
    '"\./model-server"' "with the model server as its Entrypoint"
expect_rc 1 "--output with an unknown transport fails" -- "$KROLL_BIN" image build "$ROOT" -t x:1 --output "docker:x"
finish
