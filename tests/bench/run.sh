#!/bin/sh
# `make bench`: runs tests/bench/bench.py with Debian's Python against a build (default build/).
# Figures are printed and written to $BENCH_OUT (default <build>/bench.json). BENCH_QUICK=1 for a
# short run; BENCH_PARTS=start,api,watch,pods,rollout,proxy,metrics to choose parts;
# BENCH_HARNESS=DIR for the shared proxy harness (default ../shared/bench beside the repository).
here=$(cd "$(dirname "$0")" && pwd)
KROLL_SRC=${KROLL_SRC:-$(cd "$here/../.." && pwd)}
KROLL_BUILD=${KROLL_BUILD:-$KROLL_SRC/build}
export KROLL_SRC KROLL_BUILD
[ -x "${KROLL_BIN:-$KROLL_BUILD/kroll}" ] || { echo "bench: no kroll in $KROLL_BUILD (make build)" >&2; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$here/bench.py"
