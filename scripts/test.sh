#!/usr/bin/env bash
# The one command that runs every check and test (README "Test"; .ci/run calls exactly this).
# Installs what it needs on a fresh Debian machine, then: rustfmt, clippy, the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null || need_apt+=(gcc)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "missing Debian packages: ${need_apt[*]} (run as root or install them)" >&2
    exit 1
  fi
fi

echo "== one importer per heavy dependency"
# kube / k8s-openapi only under src/cluster/kube*; aya only in the helper crate.
if grep -rnP '(?<![:\w])(kube|k8s_openapi)::' src --include='*.rs' | grep -v '^src/cluster/kube'; then
  echo "kube/k8s-openapi used outside src/cluster/kube*" >&2; exit 1
fi
if grep -rnP '(?<![:\w])aya(_[a-z]+)?::' src tests --include='*.rs'; then
  echo "aya used outside helper-image/" >&2; exit 1
fi

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
