#!/bin/bash
# t0610: `kroll image build` turns a directory with image.json (here a busybox-static root) into
# a real single-layer OCI image: imported into the store (ls shows its IMAGE ID, inspect its
# config), or written as an oci-archive that skopeo inspects and an OCI layout umoci unpacks
# to the same files; with SOURCE_DATE_EPOCH two builds are byte-identical.
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
