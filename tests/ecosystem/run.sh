#!/usr/bin/env bash
# Ecosystem tests (`just test-ecosystem` builds what they run, then calls this):
#   test_python_host.py  examples/python-host runs stigg.wasm on wasmtime-py against the stand-in
#   test_pyairbyte.py    PyAirbyte runs target/debug/source-stigg and syncs into DuckDB
#   test_js_host.py      examples/js-host runs stigg.wasm on Node (jco) against the stand-in
#   tests/conformance    one table of cases through the Rust, Python and JS hosts' CLIs
# The Python packages they need are installed once, pinned, into venvs under
# target/ecosystem/; a venv is remade only when its pins or the Python change.
# PYTHON overrides the interpreter (default python3.11, else python3; PyAirbyte
# needs 3.10-3.12). The JS host's npm packages are installed once, pinned
# (examples/js-host/package-lock.json), by examples/js-host/install.sh into
# examples/js-host/node_modules (ignored); they need node (20 or newer) and npm.
#
# To move PyAirbyte to another version: change requirements-pyairbyte.txt, empty
# constraints-pyairbyte.txt, run this, then write the venv's `pip freeze --all`
# (less pip and setuptools) back into constraints-pyairbyte.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
venvs=target/ecosystem
eco=tests/ecosystem

for built in target/wasm32-wasip2/component/stigg.wasm target/debug/source-stigg target/debug/stigg-standin; do
  [ -f "$built" ] || { echo "missing $built: run \`just test-ecosystem\`, which builds it" >&2; exit 1; }
done

# ensure_venv DIR PIP-ARGS...: DIR is a venv with `pip install PIP-ARGS` done,
# unless it already is one for the same arguments, files and Python.
ensure_venv() {
  local dir=$1; shift
  local files=() arg stamp
  for arg in "$@"; do [ -f "$arg" ] && files+=("$arg"); done
  stamp="$("$python" -c 'import sys; print(sys.version)') | $* | $(cat "${files[@]}" | sha256sum | cut -c1-64)"
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$stamp" ]; then
    return
  fi
  echo "== installing into $dir: $* (once)" >&2
  local start=$SECONDS
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@"
  printf '%s\n' "$stamp" > "$dir/.installed"
  echo "== installed into $dir in $((SECONDS - start)) s" >&2
}

ensure_venv "$venvs/python-host" -r examples/python-host/requirements.txt
ensure_venv "$venvs/pyairbyte" -r "$eco/requirements-pyairbyte.txt" -c "$eco/constraints-pyairbyte.txt"
examples/js-host/install.sh

status=0
echo "== examples/python-host: stigg.wasm on wasmtime-py" >&2
"$venvs/python-host/bin/python" "$eco/test_python_host.py" || status=1
echo "== examples/js-host: stigg.wasm on Node (jco)" >&2
"$python" "$eco/test_js_host.py" || status=1
echo "== tests/conformance: the Rust, Python and JS hosts on the same cases" >&2
# target/debug/host: \`just test-ecosystem\` builds source-stigg and the stand-in, not host-cli.
cargo build --quiet -p host-cli
PYTHON_HOST_PYTHON="$venvs/python-host/bin/python" "$python" tests/conformance/run.py || status=1
echo "== PyAirbyte: source-stigg into DuckDB" >&2
"$venvs/pyairbyte/bin/python" "$eco/test_pyairbyte.py" || status=1
exit $status
