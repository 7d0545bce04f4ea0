#!/usr/bin/env bash
# Ecosystem tests (`just test-ecosystem` builds what they run, then calls this):
#   test_python_host.py  examples/python-host runs stigg.wasm on wasmtime-py against the stand-in
#   test_pyairbyte.py    PyAirbyte installs the release's wheel (target/dist) and syncs into DuckDB
#   test_js_host.py      examples/js-host runs stigg.wasm on Node (jco) against the stand-in
#   tests/conformance    one table of cases through the Rust, Python and JS hosts' CLIs
# The pinned packages they need are installed once by tests/ecosystem/install.sh:
# Python venvs under target/ecosystem/, the JS host's npm packages under
# examples/js-host/node_modules (ignored); they need node (20 or newer) and npm.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
venvs=target/ecosystem
eco=tests/ecosystem

for built in target/wasm32-wasip2/component/stigg.wasm target/wasm32-wasip2/release/guest_probe.wasm target/debug/host target/debug/source-stigg-wasm target/debug/stigg-standin target/dist/SHA256SUMS; do
  [ -f "$built" ] || { echo "missing $built: run \`just test-ecosystem\`, which builds it" >&2; exit 1; }
done

tests/ecosystem/install.sh python-host pyairbyte js-host

status=0
echo "== examples/python-host: stigg.wasm on wasmtime-py" >&2
"$venvs/python-host/bin/python" "$eco/test_python_host.py" || status=1
echo "== examples/js-host: stigg.wasm on Node (jco)" >&2
"$python" "$eco/test_js_host.py" || status=1
echo "== tests/conformance: the Rust, Python and JS hosts on the same cases" >&2
PYTHON_HOST_PYTHON="$venvs/python-host/bin/python" "$python" tests/conformance/run.py || status=1
echo "== PyAirbyte: source-stigg-wasm, installed from the wheel, into DuckDB" >&2
"$venvs/pyairbyte/bin/python" "$eco/test_pyairbyte.py" || status=1
exit $status
