#!/usr/bin/env bash
# Airbyte platform tests (`just test-platform` builds what they run, then calls this):
#   test_image.py     the release's image (target/dist/, `./dev release`) and component through a
#                     registry on 127.0.0.1; the image's config, and spec/check/discover/read run
#                     as the platform does, on amd64 and (under qemu) arm64
#   test_standard.py  airbyte-cdk's standard source tests against source-stigg-wasm
# airbyte-cdk and pytest are installed once, pinned, into target/platform/cdk; the venv is
# remade only when its pins or the Python change. wkg (wasm-pkg-tools) is built once into
# target/tools/wkg; skopeo and docker-registry come from Debian if missing. The standard tests
# run $SOURCE_STIGG_BIN, default target/release/source-stigg-wasm (what ships).
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
for built in target/wasm32-wasip2/component/stigg.wasm "$bin" target/debug/stigg-standin target/dist/SHA256SUMS; do
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

missing=()
for package in skopeo docker-registry; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} from Debian (once)" >&2
  [ "$(id -u)" = 0 ] || { echo "run as root, or: sudo apt-get install ${missing[*]}" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# A debug build: 1m44s on 2 cores where a release build takes over 7 minutes.
wkg_version=0.16.1
if ! target/tools/wkg/bin/wkg --version 2>/dev/null | grep -qx "wkg $wkg_version"; then
  echo "== building wkg $wkg_version into target/tools/wkg (once)" >&2
  start=$SECONDS
  CARGO_PROFILE_DEV_DEBUG=false CARGO_TARGET_DIR=target/tools/wkg-build \
    cargo install --quiet --locked --debug --force --root target/tools/wkg "wkg@$wkg_version"
  rm -rf target/tools/wkg-build
  echo "== built wkg in $((SECONDS - start)) s" >&2
fi

status=0
echo "== the image, run as the Airbyte platform runs it" >&2
"$venv/bin/python" "$here/test_image.py" || status=1
echo "== airbyte-cdk standard source tests against source-stigg-wasm" >&2
# The suite's image tests need a Docker daemon; test_image.py covers the image instead.
(cd "$here" && SOURCE_STIGG="$bin" ../../"$venv"/bin/python -m pytest -q -p no:cacheprovider -m "not image_tests" test_standard.py) || status=1
exit $status
