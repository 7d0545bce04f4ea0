#!/usr/bin/env bash
# Installs the JS host's pinned packages (package-lock.json) into
# examples/js-host/node_modules, once: again only when the lock file or the
# Node version changes. Needs Node 20 or newer and npm.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null && command -v npm >/dev/null || { echo "install.sh: node and npm are needed (Node 20 or newer)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "install.sh: Node $(node --version) is too old: the JS host needs Node 20 or newer" >&2; exit 1; }
stamp="$(node --version) $(sha256sum package-lock.json | cut -c1-64)"
if [ -f node_modules/.installed ] && [ "$(cat node_modules/.installed)" = "$stamp" ]; then
  exit 0
fi
echo "== installing examples/js-host/node_modules from package-lock.json (once)" >&2
start=$SECONDS
# --ignore-scripts: jco and preview2-shim need no install scripts.
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2
printf '%s\n' "$stamp" > node_modules/.installed
echo "== installed examples/js-host/node_modules in $((SECONDS - start)) s" >&2
