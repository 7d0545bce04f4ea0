#!/usr/bin/env bash
# Cross-compiles source-stigg-wasm for linux/arm64 as a static musl binary (the image's arm64
# platform needs no library), with cargo-zigbuild and zig from PyPI, pinned in requirements.txt
# and installed once into target/tools/zig:
#   packaging/cross/build.sh PROFILE   (release or dev)
# Prints the binary's path. Adds the aarch64-unknown-linux-musl target to rustup if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=${1:?usage: build.sh PROFILE}
target=aarch64-unknown-linux-musl
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
venv=target/tools/zig
here=packaging/cross

rustup target list --installed | grep -qx "$target" || rustup target add "$target" >&2
stamp="$("$python" -c 'import sys; print(sys.version)') | $(sha256sum < "$here/requirements.txt" | cut -c1-64)"
if ! [ -f "$venv/.installed" ] || [ "$(cat "$venv/.installed")" != "$stamp" ]; then
  echo "== installing cargo-zigbuild and zig into $venv (once)" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$here/requirements.txt"
  printf '%s\n' "$stamp" > "$venv/.installed"
fi

start=$SECONDS
# The venv first on PATH: cargo-zigbuild finds zig through its python (`python -m ziglang`).
PATH="$PWD/$venv/bin:$PATH" cargo zigbuild --quiet --profile "$profile" -p source-stigg-wasm --target "$target" >&2
dir=$profile
[ "$profile" = dev ] && dir=debug
echo "== source-stigg-wasm for $target ($profile) in $((SECONDS - start)) s" >&2
echo "target/$target/$dir/source-stigg-wasm"
