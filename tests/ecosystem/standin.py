"""The Stigg stand-in for the ecosystem tests: start it, ask it what it serves.

Standard library only, so every venv of these tests can import it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import unittest
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "target"
STANDIN = Path(os.environ.get("STIGG_STANDIN", TARGET / "debug" / "stigg-standin"))
SOURCE_STIGG = Path(os.environ.get("SOURCE_STIGG", TARGET / "debug" / "source-stigg-wasm"))
STIGG_WASM = Path(os.environ.get("STIGG_WASM", TARGET / "wasm32-wasip2" / "component" / "stigg.wasm"))
DIST = TARGET / "dist"


def release_wheel() -> Path:
    """The wheel `./dev release` built (target/dist/)."""
    wheels = sorted(DIST.glob("source_stigg_wasm-*-py3-none-any.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel in {DIST} (run ./dev release), found {wheels}")
    return wheels[0]


# The misbehaving test component (tests/guest-probe), as the host tests build it.
GUEST_PROBE_WASM = Path(os.environ.get("GUEST_PROBE_WASM", TARGET / "wasm32-wasip2" / "release" / "guest_probe.wasm"))


class MessageLines(unittest.TestCase):
    """A test case that reads a host's stdout as Airbyte messages."""

    # An Airbyte message's type, and the key that holds its body.
    TYPES = {"RECORD": "record", "STATE": "state", "LOG": "log", "TRACE": "trace", "SPEC": "spec",
             "CONNECTION_STATUS": "connectionStatus", "CATALOG": "catalog"}

    def parse(self, stdout: str) -> list[dict]:
        """The messages, checking that every line is one JSON message of a known type."""
        messages = []
        for line in stdout.splitlines():
            message = json.loads(line)
            self.assertIsInstance(message, dict, line)
            self.assertIn(message.get("type"), self.TYPES, line)
            self.assertIsInstance(message[self.TYPES[message["type"]]], dict, line)
            messages.append(message)
        return messages




def key_forms(key: str) -> set[str]:
    """The forms of ``key`` a recording must not hold (connector-io's
    secret.rs), computed here with the standard library's encoders rather
    than the host's port."""
    def json_forms(text: str) -> set[str]:
        lower = json.dumps(text)[1:-1]
        upper = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), lower)
        forms = {json.dumps(text, ensure_ascii=False)[1:-1], lower, upper}
        return forms | {form.replace("/", "\\/") for form in forms}
    forms = {key}
    for once in json_forms(key):
        forms |= {once} | json_forms(once)
    for percent in (urllib.parse.quote(key, safe=""), urllib.parse.quote_plus(key, safe="")):
        forms |= {percent, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), percent)}
    raw = key.encode()
    for skip in range(3):
        core = raw[skip:][:len(raw[skip:]) // 3 * 3]
        if core:
            forms |= {base64.b64encode(core).decode(), base64.urlsafe_b64encode(core).decode()}
    return forms

# Where a message names its stream, as tests/e2e/tests/recording.rs looks for it.
STREAM_PATHS = (("record", "stream"), ("state", "stream", "stream_descriptor", "name"),
                ("trace", "stream_status", "stream_descriptor", "name"), ("trace", "estimate", "name"))


def by_stream(messages: list[dict]) -> dict[str, list[dict]]:
    """Each stream's messages in order (streams read at once interleave), to compare a recorded
    run with its replay: LOGs (which tell times), `emitted_at` and a state's `deletes_from` (a
    time from the sync's own start) left out."""
    def at(value, path):
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value
    streams: dict[str, list[dict]] = {}
    for message in messages:
        if message["type"] == "LOG":
            continue
        message = json.loads(json.dumps(message))
        name = next((n for n in (at(message, p) for p in STREAM_PATHS) if isinstance(n, str)), "-")
        for body in ("record", "trace"):
            if isinstance(message.get(body), dict):
                message[body].pop("emitted_at", None)
        state = at(message, ("state", "stream", "stream_state"))
        if isinstance(state, dict):
            state.pop("deletes_from", None)
        streams.setdefault(name, []).append(message)
    return streams


class Standin:
    """`stigg-standin --port 0` as a child process; stopped by `close`."""

    def __init__(self, api_key: str, customers: int, subscriptions_per_customer: int = 2) -> None:
        self.api_key = api_key
        self.process = subprocess.Popen(
            [str(STANDIN), "--port", "0", "--api-key", api_key, "--customers", str(customers),
             "--subscriptions-per-customer", str(subscriptions_per_customer)],
            stdout=subprocess.PIPE, text=True,
        )
        first = self.process.stdout.readline().strip() if self.process.stdout else ""
        prefix = "listening on "
        if not first.startswith(prefix):
            self.close()
            raise RuntimeError(f"stigg-standin did not start: {first!r}")
        self.url = first[len(prefix):]  # http://127.0.0.1:PORT/graphql
        self.base = self.url.rsplit("/graphql", 1)[0]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()

    def graphql(self, query: str) -> dict:
        """What the stand-in answers to a query of our own (the ground truth)."""
        request = urllib.request.Request(
            self.url, data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json", "X-API-KEY": self.api_key}, method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = json.load(reply)
        if body.get("errors"):
            raise RuntimeError(f"stand-in rejected our query: {body['errors']}")
        return body["data"]

    def nodes(self, root_field: str, fields: str) -> list[dict]:
        data = self.graphql(f"{{ {root_field}(paging: {{first: 1000}}) {{ edges {{ node {{ {fields} }} }} }} }}")
        return [edge["node"] for edge in data[root_field]["edges"]]

    def admin(self, path: str, body: dict | None = None):
        """GET an admin path, or POST `body` to it (a change, e.g. delete-customers)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}/_admin/{path}", data=data,
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.load(reply)


def run_tests(name: str, *cases: type) -> int:
    """Runs TestCase classes in order; prints `name: N passed, N failed` last."""
    suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in cases)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    line = f"{name}: {passed} passed, {failed} failed"
    if result.skipped:
        line += f", {len(result.skipped)} skipped"
    print(line, flush=True)
    return 0 if failed == 0 and passed > 0 else 1
