#!/bin/sh
# Build ktui.bpf.o reproducibly: same bytes from any checkout path and on any run.
# Usage: build.sh [OUTPUT]   (default: ktui.bpf.o next to this script)
# Needs clang-14 (target bpf), llvm-strip-14, and libbpf-dev's headers (bpf/bpf_helpers.h).
# DWARF is stripped (aya needs only .BTF/.BTF.ext); -fdebug-prefix-map keeps the checkout
# path out of the BTF line info.
set -eu
dir=$(cd "$(dirname "$0")" && pwd -P)
out=${1:-$dir/ktui.bpf.o}
CLANG=${CLANG:-clang-14}
STRIP=${LLVM_STRIP:-llvm-strip-14}
for tool in "$CLANG" "$STRIP"; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "build.sh: $tool not found (apt-get install clang-14 llvm-14 libbpf-dev)" >&2
    exit 2
  }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$dir"
SOURCE_DATE_EPOCH=0 "$CLANG" -target bpf -O2 -g -Wall -Werror \
  -D__TARGET_ARCH_x86 \
  -fdebug-prefix-map="$dir"=. \
  -fno-ident \
  -I. -c ktui.bpf.c -o "$tmp/ktui.bpf.o"
"$STRIP" --strip-debug "$tmp/ktui.bpf.o" -o "$tmp/stripped.o"
cp "$tmp/stripped.o" "$out"
