#!/usr/bin/env bash
# Ecosystem tests (`just test-ecosystem` builds what they run, then calls this):
#   test_python_host.py  examples/python-host runs stigg.wasm on wasmtime-py against the stand-in
#   test_pyairbyte.py    PyAirbyte runs target/debug/source-stigg and syncs into DuckDB
# The Python packages they need are installed once, pinned, into venvs under
# target/ecosystem/; a venv is remade only when its pins or the Python change.
# PYTHON overrides the interpreter (default python3.11, else python3; PyAirbyte
# needs 3.10-3.12).
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

status=0
echo "== examples/python-host: stigg.wasm on wasmtime-py" >&2
"$venvs/python-host/bin/python" "$eco/test_python_host.py" || status=1
echo "== PyAirbyte: source-stigg into DuckDB" >&2
"$venvs/pyairbyte/bin/python" "$eco/test_pyairbyte.py" || status=1
exit $status
