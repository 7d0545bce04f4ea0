#!/usr/bin/env bash
# Airbyte platform tests (`just test-platform` builds what they run, then calls this):
#   packaging/build-image.sh  the connector image, without a Docker daemon (buildah)
#   test_image.py             its config, and spec/check/discover/read run as the platform does
#   test_standard.py          airbyte-cdk's standard source tests against source-stigg-wasm
# airbyte-cdk and pytest are installed once, pinned, into target/platform/cdk; the venv is
# remade only when its pins or the Python change. The image and the standard tests run the
# same source-stigg-wasm: $SOURCE_STIGG_BIN, default target/release/source-stigg-wasm (what ships).
#
# To move airbyte-cdk to another version: change requirements.txt, empty constraints.txt,
# run this, then write the venv's `pip freeze --all` (less pip and setuptools) back into
# constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
venv=target/platform/cdk
here=tests/platform

bin=${SOURCE_STIGG_BIN:-target/release/source-stigg-wasm}
for built in target/wasm32-wasip2/component/stigg.wasm "$bin" target/debug/stigg-standin; do
  [ -f "$built" ] || { echo "missing $built: run \`just test-platform\`, which builds it" >&2; exit 1; }
done
bin=$(realpath "$bin")

stamp="$("$python" -c 'import sys; print(sys.version)') | $(cat "$here/requirements.txt" "$here/constraints.txt" | sha256sum | cut -c1-64)"
if ! [ -f "$venv/.installed" ] || [ "$(cat "$venv/.installed")" != "$stamp" ]; then
  echo "== installing airbyte-cdk into $venv (once)" >&2
  start=$SECONDS
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$here/requirements.txt" -c "$here/constraints.txt"
  printf '%s\n' "$stamp" > "$venv/.installed"
  echo "== installed into $venv in $((SECONDS - start)) s" >&2
fi

packaging/build-image.sh "$bin"

status=0
echo "== the image, run as the Airbyte platform runs it" >&2
"$venv/bin/python" "$here/test_image.py" || status=1
echo "== airbyte-cdk standard source tests against source-stigg-wasm" >&2
# The suite's image tests need a Docker daemon; test_image.py covers the image instead.
(cd "$here" && SOURCE_STIGG="$bin" ../../"$venv"/bin/python -m pytest -q -p no:cacheprovider -m "not image_tests" test_standard.py) || status=1
exit $status
