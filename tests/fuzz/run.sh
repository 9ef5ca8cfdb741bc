#!/bin/bash
# Builds one libFuzzer target with clang (ASan + UBSan) and runs it for a bounded time.
# usage: run.sh NAME   (NAME: tests/fuzz/fuzz_NAME.c; one case per target below says what it links)
# A crash, sanitizer report or leak fails the test; no clang/libFuzzer skips it (exit 0, says so).
# CTest runs a short fixed-seed slice; `make fuzz` sets FUZZ_SEED=0 (random), FUZZ_RUNS=-1,
# FUZZ_SECONDS, FUZZ_CORPUS (kept across runs) and FUZZ_ARTIFACTS (crash inputs kept there).
set -u
name=$1
src=${KROLL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# A fixed seed and run count make the CI run reproducible: the same inputs every time.
seed=${FUZZ_SEED:-1}
secs=${FUZZ_SECONDS:-30}
work=$(mktemp -d "${TMPDIR:-/tmp}/kroll-fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$src" || exit 1

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz/$name: SKIP: clang is not installed (scripts/install-deps.sh installs it)"
    exit 0
fi
core="src/core/err.c src/core/file.c src/core/jx.c src/core/log.c src/core/names.c"
llhttp="/usr/share/llhttp/llhttp.c /usr/share/llhttp/api.c /usr/share/llhttp/http.c"
opts=""; asan_opts=""; corpus=""
# Targets that reach the kind table (src/api/kinds.c: each kind's printer, merge keys, protobuf
# message, strategy) link the API layer whole, with what it links.
api="$(ls src/core/*.c src/scheme/*.c src/store/*.c src/api/*.c src/resources/*.c | tr '\n' ' ') $llhttp"
apilibs="-ljansson -lyaml -lsqlite3 -lssl -lcrypto -lz -lm"
# One case per target: the sources it links (besides tests/fuzz/fuzz_NAME.c), the libraries,
# libFuzzer options, and the fixed run count of the CTest slice, sized to end in about a third
# of the 30 s: a slice that -max_total_time stops runs a different number of inputs on every
# machine (selector 200000, proxy_request 2000000 and oci_archive 2000 took 29-31 s here).
case $name in
patch) files="$api"; libs="$apilibs"; runs=40000
    corpus=tests/fuzz/corpus/patch ;;
yaml) files="src/api/patch.c src/core/jx_yaml.c src/api/patch_smp.c src/api/patch_ssa.c
    src/api/patch_limits.c $core"
    libs="-ljansson -lyaml -lm"; runs=60000
    corpus=tests/fuzz/corpus/yaml ;;
protobuf) files="$api"; libs="$apilibs"; runs=400000
    corpus=tests/unit/api/fixtures/pb ;;
proxy_request) files="src/proxy/http.c src/core/buf.c src/core/err.c src/core/log.c $llhttp"
    libs="-ljansson"; runs=500000
    corpus=tests/fuzz/corpus/proxy_request ;;
api_request) files="$(echo $api | tr ' ' '\n' | grep -vx 'src/core/httpd.c' | tr '\n' ' ')" # it includes httpd.c
    libs="$apilibs"; runs=100000
    corpus=tests/fuzz/corpus/api_request ;;
continue) files="src/api/continue.c $core"; libs="-ljansson -lcrypto -lm"; runs=200000
    corpus=tests/fuzz/corpus/continue ;;
expr) files="src/core/expr.c src/core/expr_eval.c $core"; libs="-ljansson -lm"; runs=60000
    corpus=tests/fuzz/corpus/expr ;;
promql) files="src/core/promql.c src/core/promql_eval.c $core"; libs="-ljansson -lm -lpthread"
    runs=25000; corpus=tests/fuzz/corpus/promql ;;
selector) files="$api"; libs="$apilibs"; runs=50000
    corpus=tests/fuzz/corpus/selector ;;
lint) files="$(ls src/resources/*.c | tr '\n' ' ') src/core/dur.c src/core/expr.c src/core/expr_eval.c $core"; libs="-ljansson -lm"; runs=100000
    corpus=tests/fuzz/corpus/lint ;;
volume) files="src/node/env.c src/node/volume_owner.c src/core/jwt.c $core"; libs="-ljansson -lcrypto -lm"; runs=40000
    corpus=tests/fuzz/corpus/volume ;;
cdi) files="src/node/cdi.c src/node/cdi_apply.c src/api/patch.c src/core/jx_yaml.c
    src/api/patch_smp.c src/api/patch_ssa.c src/api/patch_limits.c $core"
    libs="-ljansson -lyaml -lm"; runs=40000
    corpus=tests/fuzz/corpus/cdi ;;
seccomp) files="src/node/seccomp.c $core"; libs="-ljansson -lm"; runs=40000
    corpus=tests/fuzz/corpus/seccomp ;;
oci_archive) files="src/node/image.c src/node/oci_store.c src/node/oci_import.c src/node/oci_build.c
    src/node/layer.c $core"
    libs="-ljansson -lcrypto -larchive -lm"; runs=500
    corpus=tests/fuzz/corpus/oci_archive ;;
ocispec) files="src/node/ocispec.c $core"; libs="-ljansson -lm"; runs=2000
    corpus=tests/fuzz/corpus/ocispec ;;
stream_frames) files="src/core/ws.c src/core/spdy.c src/core/buf.c $core"
    libs="-ljansson -lcrypto -lz -lm"; runs=200000
    corpus=tests/fuzz/corpus/stream_frames ;;
jwt) files="src/core/jwt.c $core"; libs="-ljansson -lcrypto -lm"; runs=20000
    corpus=tests/fuzz/corpus/jwt ;;
dns) files="src/proxy/dns.c $core"; libs="-ljansson -lldns -lm"; runs=200000
    corpus=tests/fuzz/corpus/dns ;;
httpc) files="src/core/httpc.c src/core/httpc_parse.c src/core/buf.c $core"
    libs="-ljansson -lssl -lcrypto -lm"; runs=100000
    corpus=tests/fuzz/corpus/httpc ;;
kubeconfig) files="src/client/kubeconfig.c src/core/jx_yaml.c src/core/httpc.c src/core/httpc_parse.c
    src/core/buf.c $core"
    libs="-ljansson -lyaml -lssl -lcrypto -lm"; runs=40000
    corpus=tests/fuzz/corpus/kubeconfig ;;
*) echo "fuzz: unknown target $name (add a case to tests/fuzz/run.sh)"; exit 2 ;;
esac
# The dashboard page the API layer embeds (CMake generates this header for the main build).
mkdir -p "$work/gen"
{ printf 'static const char dashboard_html[] = {'
  od -An -v -tx1 src/api/dashboard.html | tr -s ' \n' ' ' | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'
  printf '0};\n'; } >"$work/gen/dashboard_html.h"
# The main build's warnings; errors where that build has KROLL_WERROR (CMake passes it).
warn="-Wall -Wextra -Wno-unused-parameter -Wno-sign-compare"
[ "${KROLL_WERROR:-0}" = 1 ] && warn="$warn -Werror"
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $warn \
    -D_GNU_SOURCE -Isrc -I"$work/gen" -I/usr/share/include/llhttp "tests/fuzz/fuzz_$name.c" $files $libs \
    -o "$work/fuzz" 2>"$work/build.log"; then
    if grep -q "fuzzer" "$work/build.log" && grep -qi "cannot find\|no such file" "$work/build.log"; then
        echo "fuzz/$name: SKIP: libFuzzer runtime missing (libclang-rt-14-dev)"
        exit 0
    fi
    cat "$work/build.log"
    echo "fuzz/$name: FAIL: build failed"
    exit 1
fi
dir=${FUZZ_CORPUS:-$work/corpus}
arts=${FUZZ_ARTIFACTS:-$work}
mkdir -p "$dir" "$arts"
[ -n "$corpus" ] && cp -n "$corpus"/* "$dir/" 2>/dev/null
# TMPDIR: the targets' scratch files (ocispec, cdi, oci_archive) go with $work, even after a crash.
TMPDIR="$work" ASAN_OPTIONS=${asan_opts:-${ASAN_OPTIONS:-}} "$work/fuzz" $opts -seed="$seed" -runs="${FUZZ_RUNS:-$runs}" \
    -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$arts/" "$dir" >"$work/run.log" 2>&1
rc=$?
[ -n "${FUZZ_LOG:-}" ] && cp "$work/run.log" "$FUZZ_LOG"
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/run.log" | tail -1)
tail -n 3 "$work/run.log" | grep -v '^stat::'
if [ $rc != 0 ]; then
    grep -A 30 "ERROR\|runtime error\|SUMMARY" "$work/run.log" | head -60
    echo "fuzz/$name: FAIL (exit $rc, ${execs:-?} executions, seed $seed; inputs in $arts)"
    exit 1
fi
echo "fuzz/$name: ok (${execs:-?} executions in $(grep -o 'Done [0-9]* runs in [0-9]* second' "$work/run.log" | grep -o 'in [0-9]*' | head -1 | cut -c4-)s, seed $seed)"
