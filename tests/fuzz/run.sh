#!/bin/bash
# Builds one libFuzzer target with clang (ASan + UBSan) and runs it for a bounded time.
# usage: run.sh NAME   (NAME = patch | protobuf | proxy_request | selector)
# A crash, sanitizer report or leak fails the test; no clang/libFuzzer skips it (exit 0, says so).
set -u
name=$1
src=${KROLL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# A fixed seed and run count make the CI run reproducible: the same inputs every time.
# FUZZ_SEED=0 (random) and a larger FUZZ_RUNS explore further by hand.
seed=${FUZZ_SEED:-1}
secs=${FUZZ_SECONDS:-120}
work=$(mktemp -d "${TMPDIR:-/tmp}/kroll-fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$src" || exit 1

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz/$name: SKIP: clang is not installed (scripts/install-deps.sh installs it)"
    exit 0
fi
core="src/core/err.c src/core/jx.c src/core/log.c"
case $name in
patch) files="src/api/patch.c src/api/patch_smp.c src/api/patch_ssa.c $core"; libs="-ljansson -lfyaml -lm"
    # libfyaml 0.7.12 leaks on some syntax errors (docs/internals/patch.md): no leak checks here.
    opts="-detect_leaks=0"; asan_opts="detect_leaks=0"; runs=60000 ;;
protobuf) files="src/api/protobuf.c src/api/protobuf-schema.c $core"; libs="-ljansson -lm"; opts=""; runs=400000
    corpus=tests/unit/api/fixtures/pb ;;
proxy_request) files="src/proxy/http.c src/core/buf.c src/core/err.c src/core/log.c /usr/share/llhttp/llhttp.c /usr/share/llhttp/api.c /usr/share/llhttp/http.c"
    libs="-ljansson"; opts=""; runs=2000000 ;;
api_request) files="src/api/route.c src/core/buf.c src/core/loop.c $core /usr/share/llhttp/llhttp.c /usr/share/llhttp/api.c /usr/share/llhttp/http.c"
    libs="-ljansson -lssl -lcrypto -lm"; opts=""; runs=200000 ;;
selector) files="src/api/selector.c src/api/table.c $core"; libs="-ljansson -lm"; opts=""; runs=200000 ;;
*) echo "fuzz: unknown target $name"; exit 2 ;;
esac
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_GNU_SOURCE -Isrc -I/usr/share/include/llhttp "tests/fuzz/fuzz_$name.c" $files $libs \
    -o "$work/fuzz" 2>"$work/build.log"; then
    if grep -q "fuzzer" "$work/build.log" && grep -qi "cannot find\|no such file" "$work/build.log"; then
        echo "fuzz/$name: SKIP: libFuzzer runtime missing (libclang-rt-14-dev)"
        exit 0
    fi
    cat "$work/build.log"
    echo "fuzz/$name: FAIL: build failed"
    exit 1
fi
mkdir -p "$work/corpus"
[ -n "${corpus:-}" ] && cp "$corpus"/* "$work/corpus/" 2>/dev/null
ASAN_OPTIONS=${asan_opts:-${ASAN_OPTIONS:-}} "$work/fuzz" $opts -seed="$seed" -runs="${FUZZ_RUNS:-$runs}" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 \
    -artifact_prefix="$work/" "$work/corpus" >"$work/run.log" 2>&1
rc=$?
tail -n 3 "$work/run.log"
if [ $rc != 0 ]; then
    grep -A 30 "ERROR\|runtime error\|SUMMARY" "$work/run.log" | head -60
    echo "fuzz/$name: FAIL (exit $rc)"
    exit 1
fi
echo "fuzz/$name: ok ($(grep -o 'Done [0-9]* runs in [0-9]* second' "$work/run.log" | head -1)s, seed $seed)"
