#!/bin/bash
# t0603: `kroll image` acts on exactly the image a reference names. rm of one tag keeps the
# others; rm of "myrepo:tf-serving" (which names no image, although images/myrepo/tf-serving
# is a repository) fails with "No such image" and removes nothing; importing it adds a tag and
# replaces nothing; references with "..", empty components, upper case or bad tags are refused and
# nothing outside images/ is touched.
. "$(dirname "$0")/lib.sh"

umask 000
SRC=$TEST_DIR/src
mkdir -p "$SRC" "$TEST_DIR/outside/1"
echo '{"Cmd":["/bin/true"]}' >"$SRC/image.json"
echo '{"Cmd":["/bin/true"]}' >"$TEST_DIR/outside/1/image.json"
img() { "$KROLL_BIN" image "$@" --data-dir "$KROLL_DATA" >"$TEST_DIR/out" 2>&1; }
tags() { "$KROLL_BIN" image ls --data-dir "$KROLL_DATA" | awk 'NR > 1 { printf "%s:%s ", $1, $2 }'; }

for t in 1.0.3 1.0.4 1.0.5 latest; do
    img import "$SRC" "myrepo/tf-serving:$t" || fail "import myrepo/tf-serving:$t: $(cat "$TEST_DIR/out")"
done
expect_eq "$(stat -c %a "$KROLL_DATA" "$KROLL_DATA/images" | tr '\n' ' ')" "700 700 " \
    "import creates the data dir and images/ 0700 (under umask 000)"
ALL="myrepo/tf-serving:1.0.3 myrepo/tf-serving:1.0.4 myrepo/tf-serving:1.0.5 myrepo/tf-serving:latest "
expect_eq "$(tags)" "$ALL" "four tags imported"

img rm myrepo:tf-serving; rc=$?
expect_eq "$rc" "1" "rm myrepo:tf-serving exits 1"
expect_match "$(cat "$TEST_DIR/out")" 'No such image: myrepo:tf-serving' "rm myrepo:tf-serving says no such image"
expect_eq "$(tags)" "$ALL" "rm myrepo:tf-serving removed nothing"

# Since issue 11 tags are entries of the store's index, not paths: "myrepo:tf-serving" and the
# repository "myrepo/tf-serving" coexist, and rm of one leaves the other.
img import "$SRC" myrepo:tf-serving; rc=$?
expect_eq "$rc" "0" "import as myrepo:tf-serving beside the repository myrepo/tf-serving"
expect_eq "$(tags)" "myrepo:tf-serving $ALL" "both names listed"
img rm myrepo:tf-serving; rc=$?
expect_eq "$(tags)" "$ALL" "rm myrepo:tf-serving removed only that tag"

img rm myrepo/tf-serving:1.0.4; rc=$?
expect_eq "$rc" "0" "rm of one tag succeeds"
expect_eq "$(cat "$TEST_DIR/out")" "Untagged: myrepo/tf-serving:1.0.4" "rm says which tag"
expect_eq "$(tags)" "myrepo/tf-serving:1.0.3 myrepo/tf-serving:1.0.5 myrepo/tf-serving:latest " "rm of one tag keeps the others"
img rm myrepo/tf-serving:1.0.4; rc=$?
expect_eq "$rc" "1" "rm of a removed tag exits 1"
img rm docker.io/myrepo/tf-serving; rc=$?
expect_eq "$rc" "0" "rm without a tag removes :latest (docker.io/ is the default registry)"
expect_eq "$(tags)" "myrepo/tf-serving:1.0.3 myrepo/tf-serving:1.0.5 " "only :latest went"

ln -s "$TEST_DIR/outside" "$KROLL_DATA/images/evil"
for ref in ../outside:1 '../../outside:1' 'myrepo/../../outside:1' 'MyRepo/x:1' 'a//b:1' \
    'myrepo/tf-serving:../1.0.3' 'myrepo/tf-serving:.x' '/abs:1' 'a@sha256:12'; do
    img rm "$ref"; rc=$?
    expect_eq "$rc" "1" "rm $ref is refused"
    img import "$SRC" "$ref"; rc=$?
    expect_eq "$rc" "1" "import $ref is refused"
done
# "evil" is a name like any other: the store's index holds it, the symlink images/evil is not
# followed (nor read) by rm or import.
img rm evil:1; rc=$?
expect_eq "$rc" "1" "rm evil:1 finds no image behind the symlink"
img import "$SRC" evil:1 && img rm evil:1 || fail "evil:1 is an ordinary tag: $(cat "$TEST_DIR/out")"
expect_match "$("$KROLL_BIN" image rm '../x:1' --data-dir "$KROLL_DATA" 2>&1)" 'invalid reference format' "bad references say why"
expect_eq "$(ls "$TEST_DIR/outside")" "1" "nothing outside images/ was removed"
expect_eq "$(cat "$TEST_DIR/outside/1/image.json")" '{"Cmd":["/bin/true"]}' "nothing outside images/ was written"
expect_eq "$(tags)" "myrepo/tf-serving:1.0.3 myrepo/tf-serving:1.0.5 " "ls does not follow the symlink"
finish
