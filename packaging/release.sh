#!/usr/bin/env bash
# Builds the release into target/dist/, every name carrying the version:
#   stigg-<v>.wasm                          the component (any OS, any CPU)
#   source_stigg_wasm-<v>-py3-none-any.whl  `pip install`: the Python host, stigg.wasm, the
#                                           `source-stigg-wasm` command (wasmtime its one dependency)
#   source-stigg-wasm-<v>.tgz               `npm install`: the JS host, stigg.wasm transpiled,
#                                           the `source-stigg-wasm` command (preview2-shim its one dependency)
#   stigg-<v>.cdx.json                      the SBOM of the component: every Rust crate it is
#                                           built from (CycloneDX 1.5, packaging/sbom.py)
#   SHA256SUMS                              of each of them
# The version is the workspace's (Cargo.toml); the documentation URL is metadata.yaml's
# documentationUrl, which the component's spec then names too. `just release` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
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
(cd "$dist" && sha256sum -- *.wasm *.whl *.tgz *.cdx.json > SHA256SUMS)
echo "== release $version in $((SECONDS - start)) s, in $dist:" >&2
(cd "$dist" && ls -l -- * | awk '{printf "   %10d  %s\n", $5, $9}') >&2
