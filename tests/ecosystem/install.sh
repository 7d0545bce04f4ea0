#!/usr/bin/env bash
# Installs, once, the pinned packages that the hosts and PyAirbyte need:
#   install.sh python-host   venv target/ecosystem/python-host (examples/python-host/requirements.txt)
#   install.sh pyairbyte     venv target/ecosystem/pyairbyte (tests/ecosystem/*-pyairbyte.txt)
#   install.sh js-host       examples/js-host/node_modules (examples/js-host/install.sh)
#   install.sh release-tests venv target/ecosystem/release-tests (tests/release/requirements.txt:
#                            the CycloneDX schemas the SBOM is validated against)
# A venv is remade only when its pins or the Python change. PYTHON overrides
# the interpreter (default python3.11, else python3; PyAirbyte needs 3.10-3.12).
#
# To move PyAirbyte to another version: change requirements-pyairbyte.txt, empty
# constraints-pyairbyte.txt, run this, then write the venv's `pip freeze --all`
# (less pip and setuptools) back into constraints-pyairbyte.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
venvs=target/ecosystem
eco=tests/ecosystem

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

[ $# -gt 0 ] || { echo "usage: install.sh python-host|pyairbyte|js-host|release-tests..." >&2; exit 2; }
for what in "$@"; do
  case $what in
    python-host) ensure_venv "$venvs/python-host" -r examples/python-host/requirements.txt ;;
    pyairbyte) ensure_venv "$venvs/pyairbyte" -r "$eco/requirements-pyairbyte.txt" -c "$eco/constraints-pyairbyte.txt" ;;
    js-host) examples/js-host/install.sh ;;
    release-tests) ensure_venv "$venvs/release-tests" -r tests/release/requirements.txt ;;
    *) echo "install.sh: unknown $what (python-host, pyairbyte, js-host or release-tests)" >&2; exit 2 ;;
  esac
done
