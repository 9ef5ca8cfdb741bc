#!/bin/sh
# Installs the Debian packages kroll needs, only those that are missing. Idempotent; does
# nothing (and needs no root) when everything is present.
#   scripts/install-deps.sh          what building and `make demo` need
#   scripts/install-deps.sh --test   also what `make test` needs (fuzzers, the report
#                                    screenshot test's Chromium, test tools)
#   scripts/install-deps.sh --bench  also what `make bench` needs: nginx and HAProxy for the
#                                    proxy comparison of the shared harness, wrk, a C compiler
set -e
pkgs="build-essential cmake pkg-config libjansson-dev libyaml-dev node-llhttp libsqlite3-dev
libssl-dev libcmocka-dev libarchive-dev zlib1g-dev curl iproute2 procps util-linux
runc skopeo umoci busybox-static libldns-dev"
for flag in "$@"; do
    case $flag in
    --test) pkgs="$pkgs python3 jq wrk clang libclang-rt-14-dev chromium zstd podman python3-kubernetes prometheus python3-websocket" ;;
    --bench) pkgs="$pkgs python3 wrk gcc nginx haproxy" ;;
    *) echo "usage: $0 [--test] [--bench]" >&2; exit 2 ;;
    esac
done
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install:$missing (run: sudo $0 $*)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
