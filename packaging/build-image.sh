#!/usr/bin/env bash
# Builds the Airbyte connector image (packaging/source-stigg-wasm/Containerfile) without a Docker
# daemon: buildah with vfs storage under target/platform/ and chroot isolation.
#   packaging/build-image.sh [SOURCE_STIGG]   (default target/release/source-stigg-wasm)
# `just image` builds the inputs first. Writes target/platform/<name>-<tag>.tar, which
# `docker load -i` takes, and prints the image's size. Installs buildah and busybox-static
# from Debian if they are missing (CI runs as root on Debian).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/source-stigg-wasm}
wasm=target/wasm32-wasip2/component/stigg.wasm
dir=packaging/source-stigg-wasm
out=target/platform

# metadata.yaml names the image: its labels and tag come from there.
field() { sed -n "s/^  $1: *//p" "$dir/metadata.yaml"; }
repo=$(field dockerRepository) tag=$(field dockerImageTag)
image=$repo:$tag
archive=$out/${repo##*/}-$tag.tar

for built in "$bin" "$wasm"; do
  [ -f "$built" ] || { echo "missing $built: run \`just image\`, which builds it" >&2; exit 1; }
done

missing=()
command -v buildah >/dev/null || missing+=(buildah)
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} from Debian (once)" >&2
  [ "$(id -u)" = 0 ] || { echo "run as root, or: sudo apt-get install ${missing[*]}" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The build context: a root filesystem from scratch (no base image can be pulled here).
ctx=$out/context root=$out/context/rootfs
rm -rf "$ctx"
mkdir -p "$root/bin" "$root/etc" "$root/airbyte" "$root/tmp"
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
strip -o "$root/airbyte/source-stigg-wasm" "$bin"
cp "$wasm" "$root/airbyte/stigg.wasm"
# The glibc libraries source-stigg-wasm links (libc, libm, libgcc_s, the loader), at their paths.
for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/bin/sh\nairbyte:x:1000:1000:airbyte:/airbyte:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nairbyte:x:1000:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"

buildah=(buildah --root "$PWD/$out/storage" --runroot "$PWD/$out/run" --storage-driver vfs)
start=$SECONDS
"${buildah[@]}" build --quiet --isolation chroot -f "$dir/Containerfile" \
  --build-arg NAME="$repo" --build-arg VERSION="$tag" -t "$image" "$ctx" >/dev/null
"${buildah[@]}" rmi --prune >/dev/null 2>&1 || true   # the previous build, now untagged
rm -f "$archive"
"${buildah[@]}" push --quiet "$image" "docker-archive:$archive:$image"
size=$("${buildah[@]}" images --format '{{.Size}}' "$image")
echo "== built $image in $((SECONDS - start)) s: $size; docker-archive $archive ($(du -h "$archive" | cut -f1))" >&2
