#!/usr/bin/env bash
# Build the ktui helper image without any registry access: a static helper binary built on this
# machine plus Debian's static busybox, `FROM scratch`, tagged localhost/ktui-helper:<version>.
#
#   helper-image/build-image.sh [--tag IMAGE] [--save FILE.tar] [--builder podman|buildah]
#
#   --save FILE   also write an OCI archive to load on nodes without a registry:
#                 `ctr -n k8s.io images import FILE` (containerd), `kind load image-archive FILE`,
#                 `podman load -i FILE`.
# Environment: CARGO_TARGET_DIR is honoured (the release build is the slow part: reuse it).
# Prints the image ID and the tag; exits non-zero with a message when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "build-image.sh: $*" >&2; exit 1; }

TARGET=x86_64-unknown-linux-gnu
BUSYBOX=${BUSYBOX:-/bin/busybox}
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
[ -n "$version" ] || die "cannot read the workspace version from Cargo.toml"
tag="localhost/ktui-helper:$version"
save=""
builder=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --save) save=${2:?--save needs a file}; shift 2 ;;
    --builder) builder=${2:?--builder needs podman or buildah}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
if [ -z "$builder" ]; then
  if command -v podman >/dev/null; then builder=podman
  elif command -v buildah >/dev/null; then builder=buildah
  else die "neither podman nor buildah is installed (apt-get install podman)"; fi
fi
command -v "$builder" >/dev/null || die "$builder is not installed"
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found: apt-get install busybox-static"
if ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
  die "$BUSYBOX is dynamically linked: install busybox-static (not busybox)"
fi
command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$TARGET" && \
  die "the Rust target $TARGET is not installed: rustup target add $TARGET"

start=$(date +%s)
echo "== cargo build --release -p ktui-helper --target $TARGET (static glibc)" >&2
# RUSTFLAGS for the target only: build scripts and proc macros stay dynamic (they must).
CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked -p ktui-helper --bin ktui-helper --target "$TARGET" >&2
target_dir=${CARGO_TARGET_DIR:-target}
bin="$target_dir/$TARGET/release/ktui-helper"
[ -x "$bin" ] || die "the build produced no $bin"
if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
  die "$bin is dynamically linked (crt-static was not applied)"
fi
built=$(date +%s)

ctx=$(mktemp -d "${TMPDIR:-/tmp}/ktui-helper-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
cp "$bin" "$ctx/ktui-helper"
strip --strip-unneeded "$ctx/ktui-helper" 2>/dev/null || true
cp "$BUSYBOX" "$ctx/busybox"
cp helper-image/Dockerfile "$ctx/Dockerfile"

echo "== $builder build $tag (no registry access)" >&2
case "$builder" in
  podman)
    podman build --pull=never --network=none --build-arg "VERSION=$version" \
      -t "$tag" -f "$ctx/Dockerfile" "$ctx" >&2
    id=$(podman image inspect --format '{{.Id}}' "$tag")
    size=$(podman image inspect --format '{{.Size}}' "$tag")
    ;;
  buildah)
    buildah bud --pull-never --network=none --build-arg "VERSION=$version" \
      -t "$tag" -f "$ctx/Dockerfile" "$ctx" >&2
    id=$(buildah inspect --type image --format '{{.FromImageID}}' "$tag")
    size=$(du -cb "$ctx/ktui-helper" "$ctx/busybox" | tail -n1 | cut -f1)
    ;;
  *) die "unknown builder $builder (podman or buildah)" ;;
esac
if [ -n "$save" ]; then
  echo "== saving $tag to $save (OCI archive)" >&2
  rm -f "$save"
  "$builder" push "$tag" "oci-archive:$save:$tag" >&2
fi
end=$(date +%s)
echo "image $tag"
echo "id $id"
echo "size $size bytes"
echo "time cargo $((built - start)) s, image $((end - built)) s"
