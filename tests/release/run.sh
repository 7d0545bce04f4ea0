#!/usr/bin/env bash
# Release tests (`./dev test` runs `./dev release` first): the artifacts of target/dist/
# installed as a user would (tests/release/test_install.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -f target/dist/SHA256SUMS ] || { echo "missing target/dist: run ./dev release" >&2; exit 1; }
start=$SECONDS
"$python" tests/release/test_install.py
echo "== release tests in $((SECONDS - start)) s" >&2
