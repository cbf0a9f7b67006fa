#!/usr/bin/env bash
# The library as another project sees it: `cmake --install` into a fresh prefix, then a program
# outside the tree compiled and linked with only `pkg-config gencontrol-client`, and run.
set -euo pipefail
build=$1
prefix=$(mktemp -d /tmp/gencontrol-client-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(dirname "$(find "$prefix" -name gencontrol-client.pc)")
cat >"$prefix/consumer.cpp" <<'CPP'
#include <cstdio>
#include <gencontrol/index_part.hpp>
#include <gencontrol/object_store.hpp>
#include <gencontrol/remote_layout.hpp>
using namespace gencontrol::client;
int main(int, char** argv) {
    auto store = open_local_directory_store(argv[1]);
    if (!store.is_ok()) return 1;
    std::string key = index_key("072f1291a5310026820b2fe4b2968934", "de200bd42b49cc1814412c7e592dd6e9", 7);
    if (!store.value()->put(key, encode_index_part({})).is_ok()) return 1;
    auto selected = select_index(*store.value(), "072f1291a5310026820b2fe4b2968934", "de200bd42b49cc1814412c7e592dd6e9", 9);
    if (!selected.is_ok() || selected.value().generation != 7) return 1;
    std::puts("consumer: linked and ran");
    return 0;
}
CPP
# shellcheck disable=SC2046
g++ -o "$prefix/consumer" "$prefix/consumer.cpp" $(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs gencontrol-client)
"$prefix/consumer" "$prefix/store"
