"""examples/python-host: stigg.wasm run from Python (wasmtime-py) against the stand-in.

Run with the venv that tests/ecosystem/run.sh makes (wasmtime pinned in
examples/python-host/requirements.txt): `python tests/ecosystem/test_python_host.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "examples" / "python-host"))
import fakes  # noqa: E402
import standin  # noqa: E402
import stigg_host  # noqa: E402
from wasmtime import component as wc  # noqa: E402

HOST_SCRIPT = HERE.parents[1] / "examples" / "python-host" / "stigg_host.py"
CUSTOMERS = 150
API_KEY = "python-host-test-key"
BAD_KEY = "BAD-KEY-7d1f0c"
CATALOG = {"streams": [{
    "stream": {"name": "customers", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
    "sync_mode": "full_refresh", "destination_sync_mode": "overwrite",
}]}


def request(url: str, method: str = "get", headers=(), body: str = "") -> wc.Record:
    """A WIT `request` record as the component would send it."""
    record = wc.Record()
    record.method, record.url, record.headers, record.body = method, url, list(headers), body
    return record


class HttpCapabilityRules(unittest.TestCase):
    """The allow-list rule and error mapping of the Python `http` import."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = fakes.CannedServer()
        cls.origin = cls.server.origin

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.close()

    def capability(self, timeout: float = 5, max_bytes: int = 1 << 20,
                   policy: stigg_host.NetworkPolicy = stigg_host.NetworkPolicy(allow_private=True),
                   ) -> stigg_host.HttpCapability:
        http_ = stigg_host.HttpCapability(timeout, max_bytes, policy=policy)
        http_.allowed = {stigg_host.origin_of(self.origin, bare=True)}
        return http_

    def assert_error(self, answer, tag: str) -> None:
        self.assertIsInstance(answer, wc.Variant, answer)
        self.assertEqual(answer.tag, tag, answer)

    def test_origins_are_normalised_like_the_rust_host(self) -> None:
        self.assertEqual(stigg_host.origin_of("HTTPS://API.Stigg.io/graphql"), "https://api.stigg.io:443")
        self.assertEqual(stigg_host.origin_of("http://127.0.0.1:8080/x?y"), "http://127.0.0.1:8080")
        self.assertEqual(stigg_host.origin_of("http://[::1]/"), "http://[::1]:80")
        with self.assertRaises(stigg_host.Denied):
            stigg_host.origin_of("https://api.stigg.io/graphql", bare=True)

    def test_allowed_origin_gets_the_response(self) -> None:
        answer = self.capability().send(None, request(self.origin + "/ok"))
        self.assertIsInstance(answer, wc.Record)
        self.assertEqual((answer.status, len(answer.body)), (200, 1024))
        self.assertIn(("content-length", "1024"), answer.headers)

    def test_other_origins_and_tricks_are_denied(self) -> None:
        http_ = self.capability()
        port = self.server.server_address[1]
        for url in (f"http://127.0.0.1:{port + 1}/", f"https://127.0.0.1:{port}/", f"http://localhost:{port}/",
                    f"http://user:pw@127.0.0.1:{port}/", f"ftp://127.0.0.1:{port}/", "not a url"):
            self.assert_error(http_.send(None, request(url)), "denied")
        self.assert_error(http_.send(None, request(self.origin + "/", headers=[("Host", "evil.com")])), "denied")

    def test_a_body_that_is_not_utf8_is_named_as_such(self) -> None:
        answer = self.capability().send(None, request(self.origin + "/binary"))
        self.assert_error(answer, "not-utf8")
        self.assertIn("invalid byte at offset 3", answer.payload)

    def test_components_of_another_minor_version_are_refused(self) -> None:
        stigg_host.check_contract(["wasi:io/poll@0.2.6", "airbyte:connector/http@0.4.0",
                                   "airbyte:connector/source@0.4.7"])
        for name in ("airbyte:connector/http@0.5.0", "airbyte:connector/sink@0.3.0"):
            with self.assertRaisesRegex(RuntimeError, "runs airbyte:connector@0.4.x components"):
                stigg_host.check_contract([name])

    def test_connections_are_kept_alive_and_replaced_when_the_server_closed_one(self) -> None:
        http_ = self.capability()
        before = self.server.connections
        for path in ("/ok", "/ok", "/then-close", "/ok", "/ok"):
            answer = http_.send(None, request(self.origin + path))
            self.assertEqual((answer.status, len(answer.body)), (200, 1024), answer)
        # One connection for the first three, a new one after the server closed it.
        self.assertEqual(self.server.connections - before, 2)

    def test_redirects_are_returned_not_followed(self) -> None:
        answer = self.capability().send(None, request(self.origin + "/redirect"))
        self.assertEqual(answer.status, 302)

    def test_size_cap_and_timeout(self) -> None:
        self.assert_error(self.capability(max_bytes=100).send(None, request(self.origin + "/ok")), "too-large")
        self.assert_error(self.capability(timeout=0.5).send(None, request(self.origin + "/slow")), "timeout")

    def test_network_policy_refuses_non_public_addresses_by_default(self) -> None:
        port = self.server.server_address[1]
        before = self.server.hits
        http_ = stigg_host.HttpCapability(5, 1 << 20)
        for url, range_ in ((f"http://127.0.0.1:{port}/", "loopback"), (f"http://localhost:{port}/", "loopback"),
                            ("http://169.254.169.254/latest/", "link-local"), ("https://10.0.0.7/", "RFC 1918"),
                            ("https://[fe80::1]/", "link-local"), ("https://[::ffff:127.0.0.1]/", "loopback"),
                            ("http://8.8.8.8/", "requires https")):
            http_.allowed = {stigg_host.origin_of(url)}
            answer = http_.send(None, request(url))
            self.assert_error(answer, "denied")
            self.assertIn("network policy", answer.payload, url)
            self.assertIn(range_, answer.payload, url)
        self.assertEqual(self.server.hits, before, "a refused request reached the server")

    def test_the_operator_allows_loopback_but_not_plain_http_elsewhere(self) -> None:
        answer = self.capability().send(None, request(self.origin + "/ok"))
        self.assertEqual(answer.status, 200)
        http_ = self.capability()
        http_.allowed = {"http://10.0.0.7:80"}
        answer = http_.send(None, request("http://10.0.0.7/"))
        self.assert_error(answer, "denied")
        self.assertIn("requires https", answer.payload)

    def test_policy_flags_count_before_the_component_and_after_the_command(self) -> None:
        for argv in (["--allow-private-network", "c.wasm", "spec"], ["c.wasm", "spec", "--allow-private-network"]):
            args = stigg_host.parse_args(argv)
            self.assertEqual((args.component, args.allow_private_network, args.allow_plain_http),
                             ("c.wasm", True, False), argv)
        self.assertFalse(stigg_host.parse_args(["c.wasm", "spec"]).allow_private_network)

    def test_connection_refused_is_transport(self) -> None:
        http_ = stigg_host.HttpCapability(5, 1 << 20, policy=stigg_host.NetworkPolicy(allow_private=True))
        http_.allowed = {"http://127.0.0.1:1"}
        self.assert_error(http_.send(None, request("http://127.0.0.1:1/")), "transport")


class PythonHostRuns(standin.MessageLines):
    """The example as a program: spec, check and a real read of customers."""

    stand: standin.Standin

    @classmethod
    def setUpClass(cls) -> None:
        cls.stand = standin.Standin(API_KEY, CUSTOMERS)
        cls.work = tempfile.TemporaryDirectory(prefix="stigg-python-host-")
        work = Path(cls.work.name)
        cls.config = work / "config.json"
        cls.config.write_text(json.dumps({"api_key": API_KEY, "base_url": cls.stand.url, "page_size": 40}))
        cls.bad_config = work / "bad.json"
        cls.bad_config.write_text(json.dumps({"api_key": BAD_KEY, "base_url": cls.stand.url}))
        cls.catalog = work / "catalog.json"
        cls.catalog.write_text(json.dumps(CATALOG))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.stand.close()
        cls.work.cleanup()

    def run_host(self, *args: str, policy: tuple[str, ...] = ("--allow-private-network",)) -> tuple[int, list[dict]]:
        """Runs the example host; the stand-in is on 127.0.0.1, so the operator's flag is on by default."""
        done = subprocess.run([sys.executable, str(HOST_SCRIPT), *policy, str(standin.STIGG_WASM), *args],
                              capture_output=True, text=True, timeout=300)
        return done.returncode, self.parse(done.stdout)

    def test_spec(self) -> None:
        code, messages = self.run_host("spec")
        self.assertEqual(code, 0)
        self.assertEqual([m["type"] for m in messages], ["SPEC"])
        self.assertIn("api_key", messages[0]["spec"]["connectionSpecification"]["properties"])

    def test_check_succeeds_and_fails_as_a_status(self) -> None:
        code, messages = self.run_host("check", "--config", str(self.config))
        self.assertEqual((code, messages[-1]["connectionStatus"]["status"]), (0, "SUCCEEDED"))
        code, messages = self.run_host("check", "--config", str(self.bad_config))
        self.assertEqual((code, messages[-1]["connectionStatus"]["status"]), (0, "FAILED"))

    def test_the_stand_in_is_refused_without_the_operators_flag(self) -> None:
        before = self.stand.admin("stats")
        code, messages = self.run_host("check", "--config", str(self.config), policy=())
        status = messages[-1]["connectionStatus"]
        self.assertEqual((code, status["status"]), (0, "FAILED"))
        self.assertIn("network policy", status["message"])
        self.assertNotIn(API_KEY, json.dumps(messages))
        self.assertEqual(self.stand.admin("stats"), before, "a refused request reached the stand-in")

    def test_source_stigg_takes_the_permission_from_its_environment(self) -> None:
        def check(value: Optional[str]) -> subprocess.CompletedProcess:
            env = {k: v for k, v in os.environ.items() if k != "STIGG_ALLOW_PRIVATE_NETWORK"}
            if value is not None:
                env["STIGG_ALLOW_PRIVATE_NETWORK"] = value
            return subprocess.run([str(standin.SOURCE_STIGG), "check", "--config", str(self.config)],
                                  capture_output=True, text=True, timeout=300, env=env)
        for refused in (None, "0"):
            status = self.parse(check(refused).stdout)[-1]["connectionStatus"]
            self.assertEqual(status["status"], "FAILED", refused)
            self.assertIn("network policy", status["message"])
        allowed = check("1")
        self.assertEqual(self.parse(allowed.stdout)[-1]["connectionStatus"]["status"], "SUCCEEDED")
        typo = check("maybe")
        self.assertEqual(typo.returncode, 2)
        self.assertIn("STIGG_ALLOW_PRIVATE_NETWORK must be 1 or 0", typo.stderr)

    def test_read_customers(self) -> None:
        code, messages = self.run_host("read", "--config", str(self.config), "--catalog", str(self.catalog))
        self.assertEqual(code, 0)
        records = [m["record"] for m in messages if m["type"] == "RECORD"]
        self.assertEqual(len(records), CUSTOMERS)
        self.assertEqual({r["stream"] for r in records}, {"customers"})
        ids = [r["data"]["id"] for r in records]
        self.assertEqual(len(set(ids)), CUSTOMERS)
        self.assertEqual(set(ids), set(self.stand.admin("ids/customers")))
        states = [m["state"] for m in messages if m["type"] == "STATE"]
        self.assertEqual(len(states), 4)  # 150 rows in pages of 40
        self.assertEqual(states[-1]["stream"]["stream_state"], {"mode": "full_refresh_complete"})
        self.assertEqual(self.stand.admin("stats")["invalidQueries"], 0)

        # The same records, in the same order, as the Rust host gives.
        rust = subprocess.run([str(standin.SOURCE_STIGG), "read", "--config", str(self.config),
                               "--catalog", str(self.catalog)], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "STIGG_ALLOW_PRIVATE_NETWORK": "1"})
        self.assertEqual(rust.returncode, 0, rust.stderr)
        rust_records = [m["record"] for m in self.parse(rust.stdout) if m["type"] == "RECORD"]
        strip = lambda rs: [{k: v for k, v in r.items() if k != "emitted_at"} for r in rs]  # noqa: E731
        self.assertEqual(strip(records), strip(rust_records))

    def test_read_a_split_stream_through_send_all(self) -> None:
        # 150 customers in pages of 10: read in creation-time partitions, whose
        # pages the component asks for together (send-all), with 1 and 3 in flight.
        config = Path(self.work.name) / "small-pages.json"
        config.write_text(json.dumps({"api_key": API_KEY, "base_url": self.stand.url, "page_size": 10}))
        expected = set(self.stand.admin("ids/customers"))
        for concurrency in ("1", "3"):
            code, messages = self.run_host("read", "--config", str(config), "--catalog", str(self.catalog),
                                           "--concurrency", concurrency)
            self.assertEqual(code, 0)
            ids = [m["record"]["data"]["id"] for m in messages if m["type"] == "RECORD"]
            self.assertEqual(len(ids), CUSTOMERS)
            self.assertEqual(set(ids), expected)
            partitions = max(len(m["state"]["stream"]["stream_state"].get("partitions", []))
                             for m in messages if m["type"] == "STATE")
            self.assertGreater(partitions, 1, "the stream was split")

    def test_failed_read_exits_1_after_a_trace_error(self) -> None:
        code, messages = self.run_host("read", "--config", str(self.bad_config), "--catalog", str(self.catalog))
        self.assertEqual(code, 1)
        errors = [m for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
        self.assertTrue(errors, messages)
        self.assertNotIn(BAD_KEY, json.dumps(messages))  # the key never comes back

    def test_missing_catalog_is_a_config_error(self) -> None:
        code, messages = self.run_host("read", "--config", str(self.config), "--catalog", "/nonexistent.json")
        self.assertEqual(code, 1)
        self.assertEqual(messages[-1]["trace"]["error"]["failure_type"], "config_error")


if __name__ == "__main__":
    sys.exit(standin.run_tests("python-host", HttpCapabilityRules, PythonHostRuns))
