#!/usr/bin/env bash
# Builds the release into target/dist/, every name carrying the version:
#   stigg-<v>.wasm                          the component (any OS, any CPU)
#   source_stigg_wasm-<v>-py3-none-any.whl  `pip install`: the Python host, stigg.wasm, the
#                                           `source-stigg-wasm` command (wasmtime its one dependency)
#   source-stigg-wasm-<v>.tgz               `npm install`: the JS host, stigg.wasm transpiled,
#                                           the `source-stigg-wasm` command (preview2-shim its one dependency)
#   source-stigg-wasm-<v>.oci.tar           the Airbyte connector image, an OCI archive whose index
#                                           holds linux/amd64 and linux/arm64 (build-image.sh)
#   stigg-<v>.cdx.json                      SBOMs (CycloneDX 1.5, packaging/sbom.py): every Rust
#   source-stigg-wasm-<v>.cdx.json          crate the component, and the image's native binary, is built from
#   SHA256SUMS                              of each of them
# The version is the workspace's (Cargo.toml); the documentation URL is metadata.yaml's
# documentationUrl, which the component's spec then names too. `just release` runs this.
#   packaging/release.sh [--profile dev]
# --profile dev puts dev builds of source-stigg-wasm in the image (the amd64 one is the
# workspace's target/debug/source-stigg-wasm, which must be built): `./dev test` tests the same
# recipe without two release builds of wasmtime (about 11 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
case "${1:-}" in
  "") ;;
  --profile) profile=${2:?--profile dev or release} ;;
  *) echo "usage: $0 [--profile dev|release]" >&2; exit 2 ;;
esac
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
docs_url=$(sed -n 's/^  documentationUrl: *//p' packaging/source-stigg-wasm/metadata.yaml)
dist=target/dist
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -n "$version" ] && [ -n "$docs_url" ] || { echo "release.sh: no version or documentationUrl found" >&2; exit 1; }

start=$SECONDS
rm -rf "$dist"
mkdir -p "$dist"
STIGG_DOCUMENTATION_URL=$docs_url cargo build -q -p stigg-connector --target wasm32-wasip2 --profile component
wasm=$dist/stigg-$version.wasm
cp target/wasm32-wasip2/component/stigg.wasm "$wasm"
"$python" packaging/python/build_wheel.py --version "$version" --wasm "$wasm" --docs-url "$docs_url" --out "$dist" >/dev/null
examples/js-host/install.sh
node packaging/npm/build.mjs --version "$version" --wasm "$wasm" --docs-url "$docs_url" --out "$dist" >/dev/null
rm -rf "$dist/npm"   # the package's staging folder
"$python" packaging/sbom.py --package stigg-connector --target wasm32-wasip2 --name stigg \
  --version "$version" --out "$dist/stigg-$version.cdx.json"
"$python" packaging/sbom.py --package source-stigg-wasm --target x86_64-unknown-linux-gnu \
  --target aarch64-unknown-linux-musl --name source-stigg-wasm --version "$version" \
  --out "$dist/source-stigg-wasm-$version.cdx.json"
if [ "$profile" = release ]; then
  cargo build -q --release -p source-stigg-wasm
  amd64=target/release/source-stigg-wasm
else
  amd64=target/debug/source-stigg-wasm
fi
arm64=$(packaging/cross/build.sh "$profile")
packaging/build-image.sh "$wasm" "$amd64" "$arm64" "$dist/source-stigg-wasm-$version.oci.tar"
(cd "$dist" && sha256sum -- *.wasm *.whl *.tgz *.oci.tar *.cdx.json > SHA256SUMS)
echo "== release $version in $((SECONDS - start)) s, in $dist:" >&2
(cd "$dist" && ls -l -- * | awk '{printf "   %10d  %s\n", $5, $9}') >&2
