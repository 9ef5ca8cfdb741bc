#!/bin/bash
# t0600: the data dir and its secrets are private whatever the umask: with umask 000 the server
# creates its dirs 0700 and kroll.db(-wal,-shm), the keys, the token and the kubeconfig 0600;
# it refuses a data dir that group/others can write or that another user owns, saying why and
# creating nothing; loose secret files it owns are tightened with a warning, and secret files
# owned by another user are refused.
. "$(dirname "$0")/lib.sh"

umask 000
# raw_server DIR: runs the server on DIR in the foreground for a refusal (bounded); prints
# its output and returns its exit status.
raw_server() {
    timeout 60 "$KROLL_BIN" server --data-dir "$1" --listen 127.0.0.1:0 2>&1 </dev/null
}

# 1. A fresh data dir under umask 000: everything private.
mkdir -m 0700 "$KROLL_DATA"
kroll_start
kubectl create secret generic s1 --from-literal=password=hunter2 >/dev/null
wait_for 30 "proxy control socket exists" -- test -S "$KROLL_DATA/run/proxy.sock"
for d in "" /run /pods /images /pki; do
    expect_eq "$(stat -c %a "$KROLL_DATA$d")" "700" "dir ${d:-/} is 0700 under umask 000"
done
for f in kroll.db kroll.db-wal kroll.db-shm pki/ca.key pki/server.key pki/token kubeconfig; do
    expect_eq "$(stat -c %a "$KROLL_DATA/$f" 2>&1)" "600" "$f is 0600 under umask 000"
done
expect_eq "$(find "$KROLL_DATA" -perm /022 ! -type l | head -5)" "" "nothing group/other-writable"
expect_eq "$(stat -c %a "$KROLL_DATA/run/proxy.sock")" "600" "proxy control socket is 0600"
kroll_stop

# 2. Loose secret files we own are tightened with a warning; the data still serves.
chmod 0755 "$KROLL_DATA" "$KROLL_DATA/pki"
chmod 0644 "$KROLL_DATA/kroll.db" "$KROLL_DATA/pki/ca.key" "$KROLL_DATA/pki/token" "$KROLL_DATA/kubeconfig"
kroll_start
expect_eq "$(stat -c %a "$KROLL_DATA" "$KROLL_DATA/pki" | tr '\n' ' ')" "700 700 " "loose dirs tightened"
expect_eq "$(stat -c %a "$KROLL_DATA/kroll.db" "$KROLL_DATA/pki/ca.key" "$KROLL_DATA/pki/token" | tr '\n' ' ')" \
    "600 600 600 " "loose secret files tightened"
expect_match "$(cat "$TEST_DIR/server.log")" 'tightened secret file mode.*pki/ca.key from=0644' "tightening is logged"
expect_eq "$(kubectl get secret s1 -o jsonpath='{.data.password}')" "aHVudGVyMg==" "data kept"
kroll_stop

# 3. A data dir writable by others is refused, with the reason, and nothing is created in it.
mkdir -m 0777 "$TEST_DIR/open"
out=$(raw_server "$TEST_DIR/open"); rc=$?
expect_match "$rc" '^[1-9]' "0777 data dir: server exits non-zero"
expect_match "$out" "refusing data directory $TEST_DIR/open: mode 0777 lets group/others write it.*chmod 700" \
    "0777 data dir: error names the path, the mode and the fix"
expect_eq "$(ls -A "$TEST_DIR/open")" "" "0777 data dir: nothing created"
expect_eq "$(printf '%s\n' "$out" | grep -c .)" "1" "0777 data dir: a one-line error"

if [ "$(id -u)" = 0 ]; then
    # 4. A data dir owned by another user is refused.
    mkdir -m 0700 "$TEST_DIR/nobody"
    chown 65534:65534 "$TEST_DIR/nobody"
    out=$(raw_server "$TEST_DIR/nobody"); rc=$?
    expect_match "$rc" '^[1-9]' "dir owned by nobody: server exits non-zero"
    expect_match "$out" "refusing data directory $TEST_DIR/nobody: it is owned by uid 65534" \
        "dir owned by nobody: error names path and owner"
    expect_eq "$(ls -A "$TEST_DIR/nobody")" "" "dir owned by nobody: nothing created"
    # 5. A secret file owned by another user (it may have been planted) is refused.
    chown 65534 "$KROLL_DATA/pki/token"
    out=$(raw_server "$KROLL_DATA"); rc=$?
    expect_match "$rc" '^[1-9]' "token owned by nobody: server exits non-zero"
    expect_match "$out" "refusing $KROLL_DATA/pki/token: it is owned by uid 65534" \
        "token owned by nobody: error names the file and owner"
    chown 0 "$KROLL_DATA/pki/token"
else
    say "skip - not root: cannot create files owned by another user"
fi

# 6. A symlinked secret is refused (it could point anywhere).
mv "$KROLL_DATA/kubeconfig" "$TEST_DIR/kc"
ln -s "$TEST_DIR/kc" "$KROLL_DATA/kubeconfig"
out=$(raw_server "$KROLL_DATA"); rc=$?
expect_match "$rc" '^[1-9]' "symlinked kubeconfig: server exits non-zero"
expect_match "$out" "refusing $KROLL_DATA/kubeconfig: it is not a regular file" "symlinked kubeconfig: says why"
rm "$KROLL_DATA/kubeconfig"
"$KROLL_BIN" stop --data-dir "$KROLL_DATA" >/dev/null 2>&1
finish
