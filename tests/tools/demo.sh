#!/usr/bin/env bash
# The main job, end to end: the host runs stigg.wasm against the local Stigg
# stand-in (no API key needed) and prints the Airbyte messages.
set -euo pipefail
cd "$(dirname "$0")/../.."
host=target/debug/host
wasm=target/wasm32-wasip2/component/stigg.wasm
work=$(mktemp -d)
trap 'kill $standin_pid 2>/dev/null || true; rm -rf "$work"' EXIT

mkfifo "$work/standin.out"
target/debug/stigg-standin --port 0 --api-key demo-key --customers 120 --subscriptions-per-customer 2 \
  > "$work/standin.out" &
standin_pid=$!
read -r first_line < "$work/standin.out"
url=${first_line#listening on }
echo "== Stigg stand-in at $url" >&2

printf '{"api_key": "demo-key", "base_url": "%s", "page_size": 50}\n' "$url" > "$work/config.json"
printf '{"api_key": "wrong-key", "base_url": "%s"}\n' "$url" > "$work/bad-config.json"
cat > "$work/catalog.json" <<'JSON'
{"streams": [
  {"stream": {"name": "customers", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
   "sync_mode": "incremental", "destination_sync_mode": "append_dedup", "cursor_field": ["updatedAt"], "primary_key": [["id"]]},
  {"stream": {"name": "subscriptions", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
   "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
]}
JSON

# --allow-private-network: the stand-in listens on 127.0.0.1.
run() { echo "== host run stigg.wasm $*" >&2; "$host" run --allow-private-network "$wasm" "$@"; }
run spec
run check --config "$work/config.json"
run check --config "$work/bad-config.json"
run discover --config "$work/config.json" | cut -c1-300
echo "   (catalog cut at 300 characters)" >&2
run read --config "$work/config.json" --catalog "$work/catalog.json" > "$work/read.jsonl"
grep -v '"type":"RECORD"' "$work/read.jsonl" | grep -v '"type":"LOG"'
grep -m2 '"type":"RECORD"' "$work/read.jsonl"
echo "== read: $(grep -c '"type":"RECORD"' "$work/read.jsonl") records, $(wc -l < "$work/read.jsonl") messages" >&2
