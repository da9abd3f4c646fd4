#!/usr/bin/env bash
# The one command that runs every check and test (README "Test"; .ci/run calls exactly this).
# Installs what it needs on a fresh Debian machine, then: rustfmt, clippy, the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: C toolchain for -sys crates; clang-14 + libbpf headers + bpftool for the eBPF
# programs; iproute2/iptables for network-namespace tests; podman/buildah/busybox-static for the
# helper image (runc: bookworm's crun refuses hybrid cgroup hosts; file/binutils: the image
# script checks the binary is static); minisign checks ktui's signatures (tests/sign_minisign.rs);
# python3-venv/python3-pip hold moto_server, the S3-compatible server of tests/s3.rs; tshark
# (with capinfos, editcap, text2pcap) and tcpdump check ktui's pcaps and packet summaries.
need_apt=()
for pkg in gcc pkg-config clang-14 llvm-14 libbpf-dev bpftool iproute2 iptables podman buildah \
           busybox-static uidmap runc file binutils minisign python3-venv python3-pip \
           tshark tcpdump; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  as_root=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      as_root=(sudo -n)
    else
      echo "missing Debian packages: ${need_apt[*]} (run as root, or install them)" >&2
      exit 1
    fi
  fi
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# eBPF tests attach tracepoints through tracefs: mount it when the machine has not.
if [ "$(id -u)" = 0 ] && [ ! -d /sys/kernel/tracing/events ]; then
  mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
fi

# moto_server (an S3-compatible server on 127.0.0.1) for tests/s3.rs, in a venv of its own.
# 5.2.5: 5.2.0-5.2.4 answer CompleteMultipartUpload with the wrong XML root, which the Rust SDK
# rejects (getmoto/moto#10055).
moto_venv=${KTUI_MOTO_VENV:-$HOME/.cache/ktui/moto-venv}
moto_version=5.2.5
if ! "$moto_venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$moto_version')" 2>/dev/null; then
  echo "== moto_server $moto_version into $moto_venv"
  python3 -m venv "$moto_venv"
  "$moto_venv/bin/pip" install -q "moto[server]==$moto_version"
fi
export KTUI_MOTO_SERVER="$moto_venv/bin/moto_server"

echo "== one importer per heavy dependency"
# kube / k8s-openapi only under src/cluster/kube*; aya only in the helper crate.
if grep -rnP '(?<![:\w])(kube|k8s_openapi)::' src --include='*.rs' | grep -v '^src/cluster/kube'; then
  echo "kube/k8s-openapi used outside src/cluster/kube*" >&2; exit 1
fi
if grep -rnP '(?<![:\w])aya(_[a-z]+)?::' src tests --include='*.rs'; then
  echo "aya used outside helper-image/" >&2; exit 1
fi
# The AWS SDK only in the S3 upload module (tests/s3.rs is its independent client).
if grep -rnP '(?<![:\w])aws_(sdk_s3|config|smithy_[a-z_]+|types|credential_types)::' src --include='*.rs' \
    | grep -vP '^src/bundle/s3(\.rs|/)'; then
  echo "aws-sdk-s3/aws-config used outside src/bundle/s3*" >&2; exit 1
fi

echo "== tests read only what the repository holds"
# A clone of the repository alone must pass: fixtures live under tests/fixtures (with SOURCES.md).
if grep -rn --include='*.rs' --include='*.sh' --include='*.py' '\.\./shared' src tests benches helper-image; then
  echo "code reads ../shared: copy the fixture into tests/fixtures" >&2; exit 1
fi

echo "== committed eBPF object matches its sources (clang-14)"
sh helper-image/ebpf/check-object.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
# Tests that need root, eBPF, network namespaces or podman skip without them (and fail under
# CI=true); each skip is listed at the end, since libtest hides a passing test's output.
skip_log=$(mktemp)
trap 'rm -f "$skip_log"' EXIT
KTUI_SKIP_LOG=$skip_log cargo test --workspace --locked
if [ -s "$skip_log" ]; then
  echo "== skipped (run as root on a kernel with BTF, or with CI=true, to run them):"
  sed 's/^/   /' "$skip_log"
fi
