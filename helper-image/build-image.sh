#!/usr/bin/env bash
# Build a ktui image without any registry access: a static binary built on this machine,
# `FROM scratch`. Two images share this recipe:
#   (default)     the node helper: ktui-helper plus Debian's static busybox,
#                 tagged localhost/ktui-helper:<version> (helper-image/Dockerfile);
#   --controller  the in-cluster forensics controller: ktui plus the CA bundle (S3 over TLS),
#                 tagged localhost/ktui-controller:<version> (helper-image/Dockerfile.controller;
#                 `ktui record manifest` prints what runs it).
#
#   helper-image/build-image.sh [--controller] [--tag IMAGE] [--save FILE.tar]
#                               [--builder podman|buildah] [--debug]
#
#   --save FILE   also write an OCI archive to load on nodes without a registry:
#                 `ctr -n k8s.io images import FILE` (containerd), `kind load image-archive FILE`,
#                 `podman load -i FILE`.
#   --debug       build the dev profile (quicker to build, for tests) instead of release.
# Environment: CARGO_TARGET_DIR is honoured (the release build is the slow part: reuse it).
# Prints the image ID and the tag; exits non-zero with a message when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "build-image.sh: $*" >&2; exit 1; }

TARGET=x86_64-unknown-linux-gnu
BUSYBOX=${BUSYBOX:-/bin/busybox}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
[ -n "$version" ] || die "cannot read the workspace version from Cargo.toml"
image=helper
tag=""
save=""
builder=""
profile=release
while [ $# -gt 0 ]; do
  case "$1" in
    --controller) image=controller; shift ;;
    --debug) profile=dev; shift ;;
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --save) save=${2:?--save needs a file}; shift 2 ;;
    --builder) builder=${2:?--builder needs podman or buildah}; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
if [ -z "$builder" ]; then
  if command -v podman >/dev/null; then builder=podman
  elif command -v buildah >/dev/null; then builder=buildah
  else die "neither podman nor buildah is installed (apt-get install podman)"; fi
fi
command -v "$builder" >/dev/null || die "$builder is not installed"
# What differs between the two images: the package and binary, the Dockerfile, the files
# copied beside the binary.
case "$image" in
  helper)
    package=ktui-helper; binary=ktui-helper; dockerfile=helper-image/Dockerfile
    [ -x "$BUSYBOX" ] || die "$BUSYBOX not found: apt-get install busybox-static"
    if ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
      die "$BUSYBOX is dynamically linked: install busybox-static (not busybox)"
    fi
    extras=("$BUSYBOX:busybox")
    ;;
  controller)
    package=ktui; binary=ktui; dockerfile=helper-image/Dockerfile.controller
    [ -s "$CA_BUNDLE" ] || die "$CA_BUNDLE not found: apt-get install ca-certificates"
    extras=("$CA_BUNDLE:ca-certificates.crt")
    ;;
esac
name=ktui-$image
[ -n "$tag" ] || tag="localhost/$name:$version"
command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$TARGET" && \
  die "the Rust target $TARGET is not installed: rustup target add $TARGET"

start=$(date +%s)
echo "== cargo build --profile $profile -p $package --target $TARGET (static glibc)" >&2
# RUSTFLAGS for the target only: build scripts and proc macros stay dynamic (they must).
CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --profile "$profile" --locked -p "$package" --bin "$binary" --target "$TARGET" >&2
target_dir=${CARGO_TARGET_DIR:-target}
out_dir=$profile; [ "$profile" = dev ] && out_dir=debug
bin="$target_dir/$TARGET/$out_dir/$binary"
[ -x "$bin" ] || die "the build produced no $bin"
if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
  die "$bin is dynamically linked (crt-static was not applied)"
fi
built=$(date +%s)

ctx=$(mktemp -d "${TMPDIR:-/tmp}/$name-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
cp "$bin" "$ctx/$binary"
strip --strip-unneeded "$ctx/$binary" 2>/dev/null || true
for extra in "${extras[@]}"; do
  cp "${extra%%:*}" "$ctx/${extra#*:}"
done
cp "$dockerfile" "$ctx/Dockerfile"

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
    size=$(du -cb "$ctx"/* | tail -n1 | cut -f1)
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
