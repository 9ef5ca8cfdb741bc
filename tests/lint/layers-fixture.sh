#!/bin/bash
# Proves scripts/check-layers.py fails on what it must catch: a tiny src/ tree that follows the
# rules passes; then each forbidden edge is added (an include, a call, a writable global, a
# data-directory file name, a call between two controllers, another folder's private header
# and function, an unknown folder, a missing header) and the check
# must exit 1 and name that edge. The real scripts/layers.table is used, so the fixture breaks
# the same rules the tree is held to. A stale exception must fail the check too.
set -u
src=${KROLL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
check="$src/scripts/check-layers.py"
work=$(mktemp -d "${TMPDIR:-/tmp}/kroll-layers.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0

# Compiles every .c under $work/src into $work/build and writes compile_commands.json.
build() {
    local first=1 f obj
    mkdir -p "$work/build"
    echo "[" >"$work/build/compile_commands.json"
    for f in $(cd "$work/src" && find . -name '*.c' | sort); do
        f=${f#./}
        obj="$work/build/${f//\//_}.o"
        cc -c -g -I"$work/src" -o "$obj" "$work/src/$f" || { echo "FAIL: cc $f"; exit 1; }
        [ $first = 1 ] || echo "," >>"$work/build/compile_commands.json"
        first=0
        printf '{"directory": "%s", "command": "cc -c -g -I%s -o %s %s", "file": "%s"}\n' \
            "$work/build" "$work/src" "$obj" "$work/src/$f" "$work/src/$f" \
            >>"$work/build/compile_commands.json"
    done
    echo "]" >>"$work/build/compile_commands.json"
}

# run WANT_RC PATTERN... : the check (table exceptions may be absent) exits WANT_RC and its
# output holds every PATTERN (grep -F).
run() {
    local want=$1 rc p out
    shift
    rm -rf "$work/build"
    build
    out=$(python3 "$check" --build "$work/build" --src "$work/src" --allow-stale 2>&1)
    rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: exit $rc, want $want ($case)"; echo "$out"; fails=$((fails + 1)); return
    fi
    for p in "$@"; do
        if ! grep -qF -- "$p" <<<"$out"; then
            echo "FAIL: no '$p' in the output ($case)"; echo "$out"; fails=$((fails + 1))
        fi
    done
    echo "ok: $case"
}

fresh() {
    rm -rf "$work/src"
    cp -r "$src/tests/lint/layers-fixture/src" "$work/src"
}

case="the fixture follows the rules"
fresh
run 0 "0 problems"

case="proxy includes and calls the node"
fresh
sed -i 's|#include "core/log.h"|&\n#include "node/node.h"|; s|log_msg("proxy");|&\n    node_start("/tmp");|' \
    "$work/src/proxy/proxy.c"
run 1 "check-layers: include proxy -> node not allowed: src/proxy/proxy.c:2 includes node/node.h" \
    "check-layers: call proxy -> node not allowed: src/proxy/proxy.c uses node_start"

case="proxy writes the node's global"
fresh
sed -i 's|log_msg("proxy");|extern int node_hooks;\n    node_hooks++;|' "$work/src/proxy/proxy.c"
run 1 "check-layers: global proxy -> node not allowed: src/proxy/proxy.c uses the variable node_hooks"

case="a controller reads the shim's files"
fresh
sed -i 's|log_msg("controllers");|log_msg("%s/pods/%s/shim.pid");|' "$work/src/controllers/controllers.c"
run 1 "check-layers: file controllers -> node not allowed: src/controllers/controllers.c names /pods/" \
    "check-layers: file controllers -> shim not allowed: src/controllers/controllers.c names shim.pid"

case="one controller calls another"
fresh
sed -i 's|return controllers_start();|int ctrl_namespace_sync(void);\n    return ctrl_namespace_sync();|' \
    "$work/src/controllers/gc.c"
run 1 "check-layers: peer controllers/gc.c -> controllers/namespace.c not allowed: src/controllers/gc.c uses ctrl_namespace_sync"

case="the server uses the node's private parts"
fresh
mkdir "$work/src/server"
printf '#include "node/node.h"\n#include "node/node-int.h"\nint server_start(void)\n{\n    return node_start("/") + node__pods();\n}\n' \
    >"$work/src/server/server.c"
run 1 "check-layers: private server -> node not allowed: src/server/server.c:2 includes node/node-int.h; src/server/server.c uses node__pods"

case="a folder the table does not know"
fresh
mkdir "$work/src/extra"
printf '#include "core/log.h"\nvoid extra(void) { log_msg("x"); }\n' >"$work/src/extra/extra.c"
run 1 "check-layers: include extra -> core unknown folder (add it to the table)"

case="an include that resolves to no file"
fresh
# In a header no .c includes, so the compiler never sees it: only the check does.
printf '#include "node/gone.h"\n' >"$work/src/proxy/unused.h"
run 1 "src/proxy/unused.h:1 includes node/gone.h, which does not exist"

case="a stale exception"
fresh
rm -rf "$work/build"
build
out=$(python3 "$check" --build "$work/build" --src "$work/src" 2>&1)
if [ $? = 1 ] && grep -qF "stale exception 'except peer controllers/analysis.c -> controllers/analysis_job.c'" <<<"$out"; then
    echo "ok: $case"
else
    echo "FAIL: a stale exception passed"; echo "$out"; fails=$((fails + 1))
fi

[ $fails = 0 ] && echo "layers-fixture: all cases passed"
exit $((fails > 0))
