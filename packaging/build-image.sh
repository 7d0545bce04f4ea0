#!/usr/bin/env bash
# Builds the Airbyte connector image for linux/amd64 and linux/arm64, without a Docker daemon and
# without emulating a build: each platform's root filesystem is staged here (busybox, the platform's
# source-stigg-wasm, stigg.wasm, the component compiled by that very binary), then buildah builds
# packaging/source-stigg-wasm/Containerfile (FROM scratch, ADD of the staged tar, no RUN) once per
# platform into one manifest list, written as an OCI archive whose index holds both.
#   packaging/build-image.sh WASM AMD64_BIN ARM64_BIN ARCHIVE
# AMD64_BIN may link glibc (its libraries are copied in); ARM64_BIN must be static (musl). The
# arm64 binary runs here under qemu-aarch64-static to compile the component. Installs buildah,
# busybox-static (both architectures), qemu-user-static and binutils-aarch64-linux-gnu from Debian
# if missing (CI runs as root on Debian). `packaging/release.sh` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# = 4 ] || { echo "usage: $0 WASM AMD64_BIN ARM64_BIN ARCHIVE" >&2; exit 2; }
wasm=$1 amd64=$2 arm64=$3 archive=$4
dir=packaging/source-stigg-wasm
out=target/platform
for built in "$wasm" "$amd64" "$arm64"; do
  [ -f "$built" ] || { echo "build-image.sh: missing $built" >&2; exit 1; }
done

# metadata.yaml names the image: its labels and tag come from there.
field() { sed -n "s/^  $1: *//p" "$dir/metadata.yaml"; }
repo=$(field dockerRepository) tag=$(field dockerImageTag)
image=$repo:$tag

need() { dpkg -s "$1" >/dev/null 2>&1 || missing+=("$1"); }
missing=()
need buildah; need busybox-static; need qemu-user-static; need binutils-aarch64-linux-gnu
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} from Debian (once)" >&2
  [ "$(id -u)" = 0 ] || { echo "run as root, or: sudo apt-get install ${missing[*]}" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's arm64 busybox, unpacked (not installed) under target/platform/.
busybox_arm64=$out/busybox-arm64/bin/busybox
if ! [ -f "$busybox_arm64" ]; then
  echo "== fetching busybox-static:arm64 from Debian (once)" >&2
  dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64 && apt-get update -qq; }
  rm -rf "$out/busybox-arm64" && mkdir -p "$out/busybox-arm64"
  (cd "$out/busybox-arm64" && apt-get download -qq -o APT::Sandbox::User=root busybox-static:arm64 && dpkg -x busybox-static_*.deb .)
fi

ctx=$PWD/$out/context
rm -rf "$ctx"
mkdir -p "$ctx"

# stage ARCH BIN BUSYBOX STRIP [RUNNER...]: $ctx/rootfs-ARCH.tar, owned as the image needs it.
stage() {
  local arch=$1 bin=$2 busybox=$3 strip=$4
  shift 4
  local root=$ctx/rootfs-$arch
  mkdir -p "$root/bin" "$root/etc" "$root/airbyte" "$root/tmp"
  chmod 1777 "$root/tmp"
  # /bin/sh and friends: the platform runs `sh -c 'eval "$AIRBYTE_ENTRYPOINT <command> ..."'`.
  cp "$busybox" "$root/bin/busybox"
  for applet in $("$@" "$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  "$strip" -o "$root/airbyte/source-stigg-wasm" "$bin"
  cp "$wasm" "$root/airbyte/stigg.wasm"
  # The libraries a dynamic binary links (glibc's), at their paths.
  if readelf -l "$bin" | grep -q 'program interpreter'; then
    [ "$arch" = amd64 ] || { echo "build-image.sh: the $arch binary must be static" >&2; exit 1; }
    for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  fi
  printf 'root:x:0:0:root:/root:/bin/sh\nairbyte:x:1000:1000:airbyte:/airbyte:/bin/sh\n' > "$root/etc/passwd"
  printf 'root:x:0:\nairbyte:x:1000:\n' > "$root/etc/group"
  printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
  # The component compiled now, by the binary that will load it: a container start (the
  # platform starts one for every spec, check, discover and read) then loads compiled code,
  # and nothing is written at run time. The cache must be the run-time user's (uid 1000) and
  # writable by no one else.
  env -i STIGG_WASM="$root/airbyte/stigg.wasm" XDG_CACHE_HOME="$root/airbyte/cache" "$@" "$root/airbyte/source-stigg-wasm" spec >/dev/null
  ls "$root"/airbyte/cache/component-host/*.cwasm >/dev/null
  chown -R 1000:1000 "$root/airbyte/cache"
  tar --sort=name --numeric-owner -C "$root" -cf "$ctx/rootfs-$arch.tar" .
  rm -rf "$root"
}

start=$SECONDS
stage amd64 "$amd64" /bin/busybox strip
# qemu's Neoverse N1 (AWS Graviton2): the compiled component is keyed to the CPU's features, and
# an arm64 CPU with others compiles it at start instead (see README, "Use it in Airbyte").
stage arm64 "$arm64" "$busybox_arm64" aarch64-linux-gnu-strip qemu-aarch64-static -cpu neoverse-n1
echo "== staged both root filesystems in $((SECONDS - start)) s" >&2

buildah=(buildah --root "$PWD/$out/storage" --runroot "$PWD/$out/run" --storage-driver vfs)
start=$SECONDS
"${buildah[@]}" manifest rm "$image" >/dev/null 2>&1 || true
"${buildah[@]}" rmi --all --force >/dev/null 2>&1 || true   # earlier builds: vfs copies every layer
"${buildah[@]}" build --quiet --manifest "$image" --platform linux/amd64,linux/arm64 \
  -f "$dir/Containerfile" --build-arg NAME="$repo" --build-arg VERSION="$tag" "$ctx" >/dev/null
rm -f "$archive"
"${buildah[@]}" manifest push --quiet --all "$image" "oci-archive:$archive:$tag"
rm -rf "$ctx"
echo "== built $image (linux/amd64, linux/arm64) in $((SECONDS - start)) s: $archive ($(du -h "$archive" | cut -f1))" >&2
