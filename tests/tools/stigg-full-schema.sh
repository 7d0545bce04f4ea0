#!/usr/bin/env bash
# Writes Stigg's full GraphQL schema as SDL to target/stigg-full.graphql, converted
# from the schema module inside the PyPI package stigg-api-client (proprietary:
# downloaded at test time, never committed). Tests validate every query the
# connector sends against it.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/stigg-full.graphql
[ -s "$out" ] && [ -z "${REFRESH:-}" ] && exit 0
work=target/stigg-api-client
mkdir -p "$work"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check sgqlc
"$work/venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$work" "stigg-api-client${STIGG_CLIENT_VERSION:+==$STIGG_CLIENT_VERSION}"
rm -rf "$work/pkg" && mkdir -p "$work/pkg"
python3 -m zipfile -e "$(ls -t "$work"/stigg_api_client-*.whl | head -1)" "$work/pkg"
"$work/venv/bin/python" - "$work/pkg/stigg/generated" "$out" <<'PY'
import importlib.util, sys
path, out = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("stigg_schema", f"{path}/schema.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
lines = module.schema.__to_graphql__().split("\n")
assert lines[0] == "schema {" and lines[-1] == "}", "unexpected sgqlc output"
builtin = {"scalar Int", "scalar Float", "scalar String", "scalar Boolean", "scalar ID"}
body = [l[2:] if l.startswith("  ") else l for l in lines[1:-1]]
open(out, "w").write("\n".join(l for l in body if l not in builtin) + "\n")
PY
echo "wrote $out ($(wc -l < "$out") lines) from $(ls -t "$work"/stigg_api_client-*.whl | head -1 | xargs basename)"
