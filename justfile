# Recipes for the Stigg connector. `./dev <recipe>` runs them without installing just yourself.

wasm := "target/wasm32-wasip2/component/stigg.wasm"

# List the recipes.
default:
    @just --list

# Install what the build needs: the wasm32-wasip2 target.
setup:
    rustup target add wasm32-wasip2

# Build the component (target/wasm32-wasip2/component/stigg.wasm).
component: setup
    cargo build -p stigg-connector --target wasm32-wasip2 --profile component

# Build the component, the release host, source-stigg-wasm and the stand-in.
build: component
    cargo build --release -p host-cli -p source-stigg-wasm -p stigg-standin

# Build the component, the host and the stand-in, then run spec, check, discover and read
# against the local Stigg stand-in. Debug builds, the ones `test` makes too: a first demo
# does not compile wasmtime twice (the compiled component is cached, so the host's speed
# hardly shows).
demo: component
    cargo build -p host-cli -p stigg-standin
    tests/tools/demo.sh

# Every binary and test comes from one build, which each step uses: building packages one
# by one resolves other features of shared dependencies and compiles wasmtime again (about
# 100 s each time on 2 cores), so `test` runs the ecosystem and platform scripts itself.
#
# Run every test: unit tests, and end-to-end tests of the real host and component.
test: component
    tests/tools/stigg-full-schema.sh
    cargo build --workspace --all-targets
    cargo build -p guest-probe --target wasm32-wasip2 --release
    packaging/release.sh --profile dev
    STIGG_REQUIRE_FULL_SCHEMA=1 STIGG_HOST={{justfile_directory()}}/target/debug/host \
        STIGG_WASM={{justfile_directory()}}/{{wasm}} cargo test --workspace
    tests/ecosystem/run.sh
    tests/release/run.sh
    SOURCE_STIGG_BIN=target/debug/source-stigg-wasm tests/platform/run.sh

# Benchmark: the host + stigg.wasm vs the same core native, and the Rust, Python and JS hosts
# side by side, against the stand-in (`just bench --customers 2000 --latency-ms 50`).
bench *ARGS: component
    cargo build --release -p host-cli -p stigg-bench -p stigg-standin
    tests/ecosystem/install.sh python-host js-host
    target/release/stigg-bench {{ARGS}}

# Ecosystem tests: PyAirbyte installs the release's wheel and syncs it into DuckDB, the Python and
# JS hosts run stigg.wasm, and the conformance suite runs all three hosts. Installs pinned PyPI
# and npm packages under target/ecosystem/ and examples/js-host/node_modules once.
test-ecosystem: component
    cargo build -p host-cli -p source-stigg-wasm -p stigg-standin
    cargo build -p guest-probe --target wasm32-wasip2 --release
    packaging/release.sh --profile dev
    tests/ecosystem/run.sh

# Formatting and lints, as CI wants them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Airbyte platform tests: the release's image (built with dev binaries: a release build of both
# platforms would add about 11 minutes to a fresh run; `just release` builds what ships) pushed to
# a registry on 127.0.0.1 and pulled back, spec, check, discover and read in it as the platform
# does (uid 1000; arm64 under qemu), the component through the same registry with wkg, then
# airbyte-cdk's standard tests (pinned, under target/platform/ once); all against the stand-in.
test-platform: component
    cargo build -p source-stigg-wasm -p stigg-standin
    packaging/release.sh --profile dev
    SOURCE_STIGG_BIN=target/debug/source-stigg-wasm tests/platform/run.sh

# Build the release into target/dist/: stigg-<v>.wasm, the wheel and the npm package of
# `source-stigg-wasm`, the Airbyte connector image for linux/amd64 and linux/arm64 (an OCI
# archive; buildah, zig and qemu installed on first use), an SBOM and SHA256SUMS (README: "Install").
release: setup
    packaging/release.sh
