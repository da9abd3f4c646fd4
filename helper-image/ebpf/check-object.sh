#!/bin/sh
# Fail if the committed ktui.bpf.o is not what the sources in this directory build to.
# Rebuilds with clang-14 into a temporary directory and compares byte for byte.
set -eu
dir=$(cd "$(dirname "$0")" && pwd -P)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$dir/build.sh" "$tmp/ktui.bpf.o"
if ! cmp -s "$tmp/ktui.bpf.o" "$dir/ktui.bpf.o"; then
  echo "check-object.sh: helper-image/ebpf/ktui.bpf.o is stale: it differs from a fresh build" >&2
  echo "  of the C sources with $(${CLANG:-clang-14} --version | head -n1)." >&2
  echo "  Rebuild it with helper-image/ebpf/build.sh and commit the result." >&2
  exit 1
fi
echo "check-object.sh: ktui.bpf.o matches its sources"
