#!/usr/bin/env bash
# Release tests (`./dev test` runs `./dev release` first): the artifacts of target/dist/
# installed as a user would, and the SBOM checked (tests/release/test_install.py), in a venv
# with the CycloneDX schemas (tests/release/requirements.txt, installed once).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f target/dist/SHA256SUMS ] || { echo "missing target/dist: run ./dev release" >&2; exit 1; }
tests/ecosystem/install.sh release-tests
start=$SECONDS
target/ecosystem/release-tests/bin/python tests/release/test_install.py
echo "== release tests in $((SECONDS - start)) s" >&2
