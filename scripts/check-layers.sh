#!/bin/sh
# Fails when a component includes a header of a component it may not depend on.
# Layers (STYLE.md): core <- store <- api <- client <- {controllers, node}; resources sits under
# api; the shim uses the node sandbox helpers; proxy talks to the API only as a network client.
cd "$(dirname "$0")/.." || exit 2
allowed() {
    case $1 in
    core) echo "core" ;;
    store) echo "core store" ;;
    resources) echo "core resources" ;;
    api) echo "core store resources api" ;;
    client) echo "core store api client" ;;
    controllers) echo "core api client controllers" ;;
    node) echo "core api client controllers shim node" ;;
    shim) echo "core shim node" ;;
    proxy) echo "core proxy" ;;
    server) echo "core store api client controllers node shim proxy server" ;;
    cli) echo "core store api client controllers node shim proxy server cli" ;;
    *) echo "" ;;
    esac
}
bad=0
for dir in src/*/; do
    comp=$(basename "$dir")
    ok=$(allowed "$comp")
    [ -n "$ok" ] || { echo "check-layers: unknown component $comp (add it to scripts/check-layers.sh)"; bad=1; continue; }
    for f in "$dir"*.c "$dir"*.h; do
        [ -f "$f" ] || continue
        for inc in $(sed -n 's|^#include "\([a-z_]*\)/.*"|\1|p' "$f" | sort -u); do
            case " $ok " in
            *" $inc "*) ;;
            *) echo "check-layers: $f includes $inc/ (not allowed for $comp)"; bad=1 ;;
            esac
        done
    done
done
[ "$bad" = 0 ] && echo "check-layers: ok"
exit $bad
