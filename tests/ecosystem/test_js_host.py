"""examples/js-host: stigg.wasm run from Node (jco) against the stand-in.

Standard library only; needs `node` (20 or newer) and examples/js-host/install.sh
done (tests/ecosystem/run.sh does it): `python3 tests/ecosystem/test_js_host.py`.

The rules of the `http` import are checked through tests/ecosystem/js_http_probe.mjs,
which calls the host's `Http` class as the component would; the rest runs the
host as a program.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fakes  # noqa: E402
import standin  # noqa: E402

NODE = os.environ.get("NODE", "node")
JS_HOST = HERE.parents[1] / "examples" / "js-host" / "host.mjs"
PROBE = HERE / "js_http_probe.mjs"
GUEST_PROBE = HERE.parents[1] / "target" / "wasm32-wasip2" / "release" / "guest_probe.wasm"
MIB = 1024 * 1024
CUSTOMERS = 150
API_KEY = "js-host-test-key"
BAD_KEY = "BAD-KEY-4c2e9a"


def stream(name: str) -> dict:
    return {"stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}


def request(url: str, method: str = "get", headers=(), body: str = "") -> dict:
    """A WIT `request` as jco hands it to the host."""
    return {"method": method, "url": url, "headers": [list(h) for h in headers], "body": body}


class JsHttpRules(unittest.TestCase):
    """The allow-list rule, network policy and error mapping of the JS `http` import."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = fakes.CannedServer()
        cls.port = cls.server.server_address[1]
        cls.origin = cls.server.origin

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.close()

    def probe(self, requests: list[dict], call: str = "send", *, allowed=None, timeout_ms: int = 5000,
              max_bytes: int = 1 << 20, concurrency: int = 2, allow_private: bool = True) -> list[dict]:
        job = {"options": {"policy": {"allowPrivate": allow_private}, "timeoutMs": timeout_ms,
                           "maxBytes": max_bytes, "concurrency": concurrency},
               "allowed": [self.origin] if allowed is None else allowed, "call": call, "requests": requests}
        done = subprocess.run([NODE, str(PROBE)], input=json.dumps(job), capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)

    def assert_error(self, answer: dict, tag: str) -> str:
        self.assertIn("err", answer, answer)
        self.assertEqual(answer["err"]["tag"], tag, answer)
        return answer["err"]["val"]

    def test_allowed_origin_gets_the_response(self) -> None:
        [answer] = self.probe([request(self.origin + "/ok")])
        response = answer["ok"]
        self.assertEqual((response["status"], len(response["body"])), (200, 1024))
        self.assertIn(["content-length", "1024"], response["headers"])

    def test_other_origins_and_tricks_are_denied(self) -> None:
        port = self.port
        urls = (f"http://127.0.0.1:{port + 1}/", f"https://127.0.0.1:{port}/", f"http://localhost:{port}/",
                f"http://user:pw@127.0.0.1:{port}/", f"ftp://127.0.0.1:{port}/", "not a url")
        answers = self.probe([request(url) for url in urls]
                             + [request(self.origin + "/", headers=[("Host", "evil.com")])])
        for answer in answers:
            self.assert_error(answer, "denied")

    def test_a_body_that_is_not_utf8_is_named_as_such(self) -> None:
        [answer] = self.probe([request(self.origin + "/binary")])
        self.assertIn("invalid byte at offset 3", self.assert_error(answer, "not-utf8"))

    def test_redirects_are_returned_not_followed(self) -> None:
        [answer] = self.probe([request(self.origin + "/redirect")])
        self.assertEqual(answer["ok"]["status"], 302)

    def test_size_cap_and_timeout(self) -> None:
        [answer] = self.probe([request(self.origin + "/ok")], max_bytes=100)
        self.assertEqual(self.assert_error(answer, "too-large"), 100)
        [answer] = self.probe([request(self.origin + "/slow")], timeout_ms=500)
        self.assert_error(answer, "timeout")

    def test_network_policy_refuses_non_public_addresses_by_default(self) -> None:
        port = self.port
        before = self.server.hits
        cases = ((f"http://127.0.0.1:{port}/", "loopback"), (f"http://localhost:{port}/", "loopback"),
                 ("http://169.254.169.254/latest/", "link-local"), ("https://10.0.0.7/", "RFC 1918"),
                 ("https://[fe80::1]/", "link-local"), ("https://[::ffff:127.0.0.1]/", "loopback"),
                 ("https://100.64.0.1/", "carrier-grade NAT"), ("https://[2002::1]/", "6to4"),
                 ("https://224.0.0.1/", "multicast"), ("http://8.8.8.8/", "requires https"))
        answers = self.probe([request(url) for url, _ in cases], allowed=[url for url, _ in cases], allow_private=False)
        for (url, range_), answer in zip(cases, answers):
            message = self.assert_error(answer, "denied")
            self.assertIn("network policy", message, url)
            self.assertIn(range_, message, url)
        self.assertEqual(self.server.hits, before, "a refused request reached the server")

    def test_the_operator_allows_loopback_but_not_plain_http_elsewhere(self) -> None:
        answers = self.probe([request(self.origin + "/ok"), request("http://10.0.0.7/")],
                             allowed=[self.origin, "http://10.0.0.7:80"])
        self.assertEqual(answers[0]["ok"]["status"], 200)
        self.assertIn("requires https", self.assert_error(answers[1], "denied"))

    def test_connection_refused_is_transport(self) -> None:
        [answer] = self.probe([request("http://127.0.0.1:1/")], allowed=["http://127.0.0.1:1"])
        self.assert_error(answer, "transport")

    def test_send_all_keeps_order_and_its_bound(self) -> None:
        for concurrency, expected in ((1, 1), (3, 3)):
            self.server.max_in_flight = 0
            urls = [f"{self.origin}/hold/{i}" for i in range(7)] + [f"http://127.0.0.1:{self.port + 1}/"]
            answers = self.probe([request(url) for url in urls], call="sendAll", concurrency=concurrency)
            # list<result<..>> elements in jco's variant shape: {tag: ok|err, val}
            self.assertEqual([a["val"]["body"] for a in answers[:7]], [f"/hold/{i}" for i in range(7)])
            self.assertEqual((answers[7]["tag"], answers[7]["val"]["tag"]), ("err", "denied"))
            self.assertEqual(self.server.max_in_flight, expected, f"--concurrency {concurrency}")


class JsHostRuns(standin.MessageLines):
    """The example as a program: spec, check, discover and reads against the stand-in."""

    stand: standin.Standin

    @classmethod
    def setUpClass(cls) -> None:
        cls.stand = standin.Standin(API_KEY, CUSTOMERS)
        cls.work = tempfile.TemporaryDirectory(prefix="stigg-js-host-")
        work = Path(cls.work.name)
        cls.config = cls.write("config.json", {"api_key": API_KEY, "base_url": cls.stand.url, "page_size": 40})
        cls.bad_config = cls.write("bad.json", {"api_key": BAD_KEY, "base_url": cls.stand.url})
        cls.catalog = cls.write("catalog.json", {"streams": [stream("customers"), stream("subscriptions")]})
        cls.customers_catalog = cls.write("customers.json", {"streams": [stream("customers")]})
        cls.proxy = fakes.CountingProxy(cls.stand.url)
        cls.proxied_config = cls.write("proxied.json", {
            "api_key": API_KEY, "base_url": cls.proxy.url, "page_size": 10})
        assert work.exists()

    @classmethod
    def write(cls, name: str, value: dict) -> Path:
        path = Path(cls.work.name) / name
        path.write_text(json.dumps(value))
        return path

    @classmethod
    def tearDownClass(cls) -> None:
        cls.proxy.close()
        cls.stand.close()
        cls.work.cleanup()

    def run_host(self, *args: str, policy: tuple[str, ...] = ("--allow-private-network",)
                 ) -> tuple[int, list[dict], str]:
        """Runs the JS host; the stand-in is on 127.0.0.1, so the operator's flag is on by default."""
        done = subprocess.run([NODE, str(JS_HOST), *policy, str(standin.STIGG_WASM), *args],
                              capture_output=True, text=True, timeout=300)
        return done.returncode, self.parse(done.stdout), done.stderr

    def test_spec(self) -> None:
        code, messages, _ = self.run_host("spec")
        self.assertEqual(code, 0)
        self.assertEqual([m["type"] for m in messages], ["SPEC"])
        self.assertIn("api_key", messages[0]["spec"]["connectionSpecification"]["properties"])

    def test_check_succeeds_and_fails_as_a_status(self) -> None:
        code, messages, _ = self.run_host("check", "--config", str(self.config))
        self.assertEqual((code, messages[-1]["connectionStatus"]["status"]), (0, "SUCCEEDED"))
        code, messages, _ = self.run_host("check", "--config", str(self.bad_config))
        status = messages[-1]["connectionStatus"]
        self.assertEqual((code, status["status"]), (0, "FAILED"))
        self.assertIn("API key", status["message"])
        self.assertNotIn(BAD_KEY, json.dumps(messages))

    def test_policy_flags_count_after_the_command_too(self) -> None:
        code, messages, _ = self.run_host("check", "--config", str(self.config), "--allow-private-network", policy=())
        self.assertEqual((code, messages[-1]["connectionStatus"]["status"]), (0, "SUCCEEDED"))

    def test_discover(self) -> None:
        code, messages, _ = self.run_host("discover", "--config", str(self.config))
        self.assertEqual((code, [m["type"] for m in messages]), (0, ["CATALOG"]))
        names = {s["name"] for s in messages[0]["catalog"]["streams"]}
        self.assertTrue({"customers", "subscriptions"} <= names, names)

    def test_the_stand_in_is_refused_without_the_operators_flag(self) -> None:
        before = self.stand.admin("stats")["requests"]
        for command in (("check", "--config", str(self.config)),
                        ("read", "--config", str(self.config), "--catalog", str(self.catalog))):
            code, messages, _ = self.run_host(*command, policy=())
            text = json.dumps(messages)
            self.assertIn("network policy", text)
            self.assertIn("loopback", text)
            self.assertNotIn(API_KEY, text)
        self.assertEqual(self.stand.admin("stats")["requests"], before, "a refused request reached the stand-in")

    def test_read_customers_and_subscriptions(self) -> None:
        code, messages, stderr = self.run_host("read", "--config", str(self.config), "--catalog", str(self.catalog))
        self.assertEqual(code, 0, stderr)
        records = [m["record"] for m in messages if m["type"] == "RECORD"]
        self.assertEqual(Counter(r["stream"] for r in records), {"customers": CUSTOMERS, "subscriptions": 2 * CUSTOMERS})
        for name in ("customers", "subscriptions"):
            ids = [r["data"]["id"] for r in records if r["stream"] == name]
            self.assertEqual(len(set(ids)), len(ids), name)
            self.assertEqual(set(ids), set(self.stand.admin(f"ids/{name}")), name)
        complete = [m["state"]["stream"]["stream_descriptor"]["name"] for m in messages if m["type"] == "STATE"
                    and m["state"]["stream"]["stream_state"] == {"mode": "full_refresh_complete"}]
        self.assertEqual(sorted(complete), ["customers", "subscriptions"])
        self.assertEqual(self.stand.admin("stats")["invalidQueries"], 0)

        # The same records, stream by stream, as the Rust host gives.
        rust = subprocess.run([str(standin.SOURCE_STIGG), "read", "--config", str(self.config),
                               "--catalog", str(self.catalog)], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "STIGG_ALLOW_PRIVATE_NETWORK": "1"})
        self.assertEqual(rust.returncode, 0, rust.stderr)
        rust_records = [m["record"] for m in self.parse(rust.stdout) if m["type"] == "RECORD"]
        strip = lambda rs, name: [{k: v for k, v in r.items() if k != "emitted_at"}  # noqa: E731
                                  for r in rs if r["stream"] == name]
        for name in ("customers", "subscriptions"):
            self.assertEqual(strip(records, name), strip(rust_records, name), name)

    def test_a_slow_reader_gets_every_line_whole(self) -> None:
        # The host writes to a pipe that fills (a reader taking 4 KiB every
        # 2 ms): writes it refuses are retried, nothing lost or split.
        process = subprocess.Popen([NODE, str(JS_HOST), "--allow-private-network", str(standin.STIGG_WASM), "read",
                                    "--config", str(self.config), "--catalog", str(self.catalog)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        chunks = []
        while chunk := process.stdout.read1(4096):
            chunks.append(chunk)
            time.sleep(0.002)
        self.assertEqual(process.wait(timeout=300), 0, process.stderr.read())
        process.stderr.close()
        process.stdout.close()
        messages = self.parse(b"".join(chunks).decode())
        records = Counter(m["record"]["stream"] for m in messages if m["type"] == "RECORD")
        self.assertEqual(records, {"customers": CUSTOMERS, "subscriptions": 2 * CUSTOMERS})

    def test_sigterm_mid_read_leaves_whole_lines_then_the_trace(self) -> None:
        # Pages of 150 customers: batches of ~450 KB, far more than a pipe holds;
        # the reader takes 10 KB every 50 ms, so the host is mid-batch when the
        # signal comes: the batch is finished (within 5 s), then the TRACE.
        config = self.write("sigterm.json", {"api_key": API_KEY, "base_url": self.stand.url, "page_size": 150})
        process = subprocess.Popen([NODE, str(JS_HOST), "--allow-private-network", str(standin.STIGG_WASM), "read",
                                    "--config", str(config), "--catalog", str(self.catalog)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        chunks, signalled = [], None
        while chunk := process.stdout.read1(10_000):
            chunks.append(chunk)
            if signalled is None and sum(map(len, chunks)) >= 100_000:
                process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
            time.sleep(0.05)
        code = process.wait(timeout=10)
        stderr = process.stderr.read().decode()
        process.stdout.close()
        process.stderr.close()
        self.assertIsNotNone(signalled, "the read ended before the signal")
        self.assertEqual(code, 143, stderr)
        self.assertLess(time.monotonic() - signalled, 10)
        messages = self.parse(b"".join(chunks).decode())  # every line whole JSON
        self.assertEqual(messages[-1]["type"], "TRACE")
        error = messages[-1]["trace"]["error"]
        self.assertEqual((error["failure_type"], error["message"]),
                         ("transient_error", "the host was stopped by SIGTERM before the command finished"))
        self.assertTrue(any(m["type"] == "RECORD" for m in messages))
        self.assertNotIn("Error:", stderr.replace("host.mjs:", ""), "a stack trace")
        with self.assertRaises(ProcessLookupError):  # nothing left running
            os.kill(process.pid, 0)

    def test_send_all_stays_within_concurrency(self) -> None:
        # 150 customers in pages of 10: read in creation-time partitions whose
        # pages the component asks for together (send-all); the proxy counts
        # requests in flight.
        expected = set(self.stand.admin("ids/customers"))
        for concurrency in (1, 3):
            self.proxy.max_in_flight = 0
            code, messages, stderr = self.run_host("read", "--config", str(self.proxied_config),
                                                   "--catalog", str(self.customers_catalog),
                                                   "--concurrency", str(concurrency))
            self.assertEqual(code, 0, stderr)
            ids = [m["record"]["data"]["id"] for m in messages if m["type"] == "RECORD"]
            self.assertEqual((len(ids), set(ids)), (CUSTOMERS, expected))
            partitions = max(len(m["state"]["stream"]["stream_state"].get("partitions", []))
                             for m in messages if m["type"] == "STATE")
            self.assertGreater(partitions, 1, "the stream was split")
            if concurrency == 1:
                self.assertEqual(self.proxy.max_in_flight, 1)
            else:
                self.assertGreater(self.proxy.max_in_flight, 1, "send-all ran its requests one by one")
                self.assertLessEqual(self.proxy.max_in_flight, concurrency)

    def test_failed_read_exits_1_after_a_trace_error(self) -> None:
        code, messages, _ = self.run_host("read", "--config", str(self.bad_config), "--catalog", str(self.catalog))
        self.assertEqual(code, 1)
        errors = [m for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
        self.assertTrue(errors, messages)
        self.assertNotIn(BAD_KEY, json.dumps(messages))

    def test_missing_files_usage_and_a_broken_component(self) -> None:
        code, messages, _ = self.run_host("read", "--config", str(self.config), "--catalog", "/nonexistent.json")
        self.assertEqual((code, messages[-1]["trace"]["error"]["failure_type"]), (1, "config_error"))
        code, messages, _ = self.run_host("check", "--config", "/nonexistent.json")
        self.assertEqual((code, messages[-1]["connectionStatus"]["status"]), (0, "FAILED"))
        code, messages, stderr = self.run_host("read", "--config", str(self.config))
        self.assertEqual((code, messages), (2, []))
        self.assertIn("read needs --catalog", stderr)
        code, messages, _ = self.run_host("read", "--config", str(self.config), "--catalog", str(self.catalog),
                                          "--concurrency", "0")
        self.assertEqual(code, 2)
        not_wasm = Path(self.work.name) / "not.wasm"
        not_wasm.write_bytes(b"\0asm not really")
        done = subprocess.run([NODE, str(JS_HOST), str(not_wasm), "spec"], capture_output=True, text=True, timeout=60)
        trace = self.parse(done.stdout)[-1]["trace"]
        self.assertEqual((done.returncode, trace["error"]["failure_type"]), (1, "system_error"))
        self.assertIn("the connector component could not be loaded", trace["error"]["message"])

    def test_components_of_another_minor_version_are_refused(self) -> None:
        script = ("import('%s').then(({checkContract}) => {"
                  " checkContract(['wasi:io/poll@0.2.6', 'airbyte:connector/http@0.5.0', 'airbyte:connector/source@0.5.7']);"
                  " for (const n of ['airbyte:connector/http@0.6.0', 'airbyte:connector/sink@0.4.0']) {"
                  "  try { checkContract([n]); console.log('accepted ' + n) } catch (e) { console.log(e.message) } } })"
                  % JS_HOST.as_uri())
        done = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
        lines = done.stdout.splitlines()
        self.assertEqual(len(lines), 2, done.stdout + done.stderr)
        for line in lines:
            self.assertIn("but this host runs airbyte:connector@0.5.x components", line)


# --- reporting a problem: --record, --replay, --debug ---------------------------

# A key with characters that have other forms (JSON `\"` and `\/`, percent-encoding, `+` in base64).
RECORDED_KEY = 'js-host/rec"key+42~'
THREE_STREAMS = (("customers", "incremental"), ("subscriptions", "full_refresh"), ("credit_grants", "full_refresh"))


class JsHostRecording(standin.MessageLines):
    """Reporting a problem: a read recorded against the stand-in (`--record`) replays with the
    stand-in stopped (`--replay`), giving the same messages, and the recording holds the key in
    no form; a request that was not recorded fails naming it; `--debug` shows each request."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.work = tempfile.TemporaryDirectory(prefix="stigg-js-recording-")
        cls.recording = Path(cls.work.name) / "recording"
        # One recorded read, then the stand-in stops: the replay has no server to reach.
        stand = standin.Standin(RECORDED_KEY, 30)
        try:
            config, catalog = cls.inputs(stand, THREE_STREAMS, "three")
            cls.recorded = cls.host("read", "--config", config, "--catalog", catalog, "--record", str(cls.recording))
            cls.requests_served = stand.admin("stats")["requests"]
        finally:
            stand.close()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.work.cleanup()

    @classmethod
    def inputs(cls, stand: standin.Standin, streams, name: str) -> tuple[str, str]:
        """A config for `stand` (pacing off) and a catalog of `streams` (name, sync mode), as files."""
        config = Path(cls.work.name) / f"{name}-config.json"
        config.write_text(json.dumps({"api_key": RECORDED_KEY, "base_url": stand.url, "page_size": 50,
                                      "rate_limits": {"*": 6_000_000}}))
        catalog = Path(cls.work.name) / f"{name}-catalog.json"
        catalog.write_text(json.dumps({"streams": [
            {**stream(s), "sync_mode": mode, "destination_sync_mode": "append"} for s, mode in streams]}))
        return str(config), str(catalog)

    @staticmethod
    def host(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([NODE, str(JS_HOST), "--allow-private-network", str(standin.STIGG_WASM), *args],
                              capture_output=True, text=True, timeout=300)

    def test_a_recorded_read_replays_without_the_network(self) -> None:
        self.assertEqual(self.recorded.returncode, 0, self.recorded.stderr)
        self.assertGreater(self.requests_served, 30, "a read of every customer's grants")
        replayed = self.host("read", "--config", str(self.recording / "config.json"),
                             "--catalog", str(self.recording / "catalog.json"), "--replay", str(self.recording))
        self.assertEqual(replayed.returncode, 0, replayed.stderr)
        recorded, again = standin.by_stream(self.parse(self.recorded.stdout)), standin.by_stream(self.parse(replayed.stdout))
        self.assertEqual(sorted(again), sorted(recorded))
        self.assertLessEqual({"customers", "subscriptions", "credit_grants"}, set(recorded))
        for name, messages in recorded.items():
            self.assertGreater(len(messages), 0, name)
            self.assertEqual(again[name], messages, name)

    def test_the_recording_holds_no_form_of_the_key(self) -> None:
        self.assertEqual(self.recorded.returncode, 0, self.recorded.stderr)
        files = sorted(p.name for p in self.recording.iterdir())
        self.assertEqual(files, ["catalog.json", "config.json", "exchanges.jsonl"])
        self.assertEqual(json.loads((self.recording / "config.json").read_text())["api_key"], "<secret>")
        exchanges = (self.recording / "exchanges.jsonl").read_text().splitlines()
        self.assertEqual(len(exchanges), self.requests_served)
        self.assertIn(["x-api-key", "<secret>"], json.loads(exchanges[0])["request"]["headers"])
        forms = standin.key_forms(RECORDED_KEY)
        self.assertIn("js-host\\/rec\\\\\\\"key+42~", forms)  # JSON-escaped twice, `/` as `\/`
        # The host masks the same forms (its port of forms_of), for keys with every kind of character.
        keys = [RECORDED_KEY, "k\u00e9y/\u2713\"\n\t\x01 \U0001F600+\\", "ab", ""]
        script = ("import('%s').then(({formsOf}) => console.log(JSON.stringify(%s.map(formsOf))))"
                  % ((JS_HOST.parent / "recording.mjs").as_uri(), json.dumps(keys)))
        done = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
        self.assertEqual([set(forms) for forms in json.loads(done.stdout)], [standin.key_forms(key) for key in keys],
                         done.stderr)
        for path in self.recording.iterdir():
            text = path.read_text()
            for form in forms:
                self.assertNotIn(form, text, f"{path.name} holds {form!r}")

    def test_a_request_that_was_not_recorded_fails_naming_it(self) -> None:
        stand = standin.Standin(RECORDED_KEY, 5)
        self.addCleanup(stand.close)
        recording = Path(self.work.name) / "customers-only"
        config, catalog = self.inputs(stand, [("customers", "full_refresh")], "customers")
        done = self.host("read", "--config", config, "--catalog", catalog, "--record", str(recording))
        self.assertEqual(done.returncode, 0, done.stderr)
        # Another stream than the one recorded.
        _, features = self.inputs(stand, [("features", "full_refresh")], "features")
        done = self.host("read", "--config", config, "--catalog", features, "--replay", str(recording))
        self.assertEqual(done.returncode, 1, done.stderr)
        messages = self.parse(done.stdout)
        self.assertEqual(messages[-1]["type"], "TRACE", messages[-1])
        message = messages[-1]["trace"]["error"]["message"]
        self.assertIn("was not recorded", message)
        self.assertIn("the next recorded request is POST", message)

    def test_debug_shows_each_request_and_no_key(self) -> None:
        stand = standin.Standin(RECORDED_KEY, 12)
        self.addCleanup(stand.close)
        config, catalog = self.inputs(stand, [("customers", "full_refresh")], "debug")
        debug_lines = lambda done: [m["log"]["message"] for m in self.parse(done.stdout)  # noqa: E731
                                    if m["type"] == "LOG" and m["log"]["level"] == "DEBUG"]
        quiet = self.host("read", "--config", config, "--catalog", catalog)
        self.assertEqual((quiet.returncode, debug_lines(quiet)), (0, []), "off by default")
        before = stand.admin("stats")["requests"]
        done = self.host("read", "--config", config, "--catalog", catalog, "--debug")
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = debug_lines(done)
        self.assertGreater(len(lines), 0)
        self.assertEqual(len(lines), stand.admin("stats")["requests"] - before, lines)
        for line in lines:
            self.assertTrue(line.startswith(f"POST {stand.url}"), line)
            for part in (" query ", " variables {", ": HTTP 200, "):
                self.assertIn(part, line)
            self.assertTrue(line.endswith(" ms"), line)
        self.assertNotIn(RECORDED_KEY, done.stdout + done.stderr)

    def test_a_recorded_error_replays_as_it_was(self) -> None:
        # Recorded as the WIT variant holds it (its case and payload), replayed the same.
        script = """
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Secrets, recorder, replayer, startRecording } from '%s';
const dir = mkdtempSync(join(%s, 'errors-'));
const failing = (requests) => requests.map(({ body }) => ({ ms: 1, result: { tag: 'err', val: body === 'slow'
  ? { tag: 'timeout', val: 'POST x: no complete answer within 30 s' } : { tag: 'too-large', val: 1024n } } }));
const request = (body) => ({ method: 'post', url: 'https://api.example.com/graphql', headers: [], body });
const none = new Secrets();
const send = (transport) => transport([request('slow'), request('big')]).map(({ result }) => result);
const shown = (value) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `u64 ${v}` : v));
console.log(shown(send(recorder(failing, none, startRecording(dir, none, {})))));
console.log(shown(send(replayer(dir))));
""" % ((JS_HOST.parent / "recording.mjs").as_uri(), json.dumps(self.work.name))
        done = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        recorded, replayed = map(json.loads, done.stdout.splitlines())
        self.assertEqual(recorded, [{"tag": "err", "val": {"tag": "timeout", "val": "POST x: no complete answer within 30 s"}},
                                    {"tag": "err", "val": {"tag": "too-large", "val": "u64 1024"}}])
        self.assertEqual(replayed, recorded)

    def test_the_flags_are_in_the_help_and_record_with_replay_is_a_usage_error(self) -> None:
        done = subprocess.run([NODE, str(JS_HOST), "--help"], capture_output=True, text=True, timeout=60)
        for flag in ("--record DIR", "--replay DIR", "--debug"):
            self.assertIn(flag, done.stdout)
        done = self.host("spec", "--record", str(Path(self.work.name) / "r"), "--replay", str(self.recording))
        self.assertEqual((done.returncode, done.stdout), (2, ""))
        self.assertIn("--record cannot be used with --replay", done.stderr)


# --- hostile servers ---------------------------------------------------------

PEAK_RSS = ("import resource, subprocess, sys; "
            "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "sys.stdout.write(done.stdout); sys.stderr.write(done.stderr); "
            "sys.stderr.write('\\nPEAK_RSS_KIB %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
            "sys.exit(done.returncode)")


class JsHostLimits(standin.MessageLines):
    """The sandbox limits, the header rule, input files and the command line,
    with the guest probe (tests/guest-probe: a component that misbehaves on request)."""

    @classmethod
    def setUpClass(cls) -> None:
        if not GUEST_PROBE.exists():
            raise unittest.SkipTest(f"{GUEST_PROBE} is not built")
        cls.work = tempfile.TemporaryDirectory(prefix="stigg-js-limits-")
        cls.catalog = cls.write("catalog.json", {"streams": []})
        cls.server = fakes.CannedServer()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.close()
        cls.work.cleanup()

    @classmethod
    def write(cls, name: str, value) -> Path:
        path = Path(cls.work.name) / name
        if isinstance(value, bytes):
            path.write_bytes(value)
        else:
            path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        return path

    def host(self, *args: str, timeout: float = 60) -> tuple[int, list[dict], str, float]:
        """Runs the JS host with the probe: status, messages, stderr, seconds taken."""
        start = time.monotonic()
        done = subprocess.run([NODE, str(JS_HOST), str(GUEST_PROBE), *args],
                              capture_output=True, text=True, timeout=timeout)
        return done.returncode, self.parse(done.stdout), done.stderr, time.monotonic() - start

    def probe(self, name: str, *flags: str, **config) -> tuple[int, list[dict], str, float]:
        config_path = self.write(f"{name}-{len(os.listdir(self.work.name))}.json", {"probe": name, **config})
        return self.host("read", "--config", str(config_path), "--catalog", str(self.catalog), *flags)

    def last_error(self, messages: list[dict]) -> dict:
        self.assertTrue(messages, "no message")
        self.assertEqual(messages[-1]["type"], "TRACE", messages[-1])
        return messages[-1]["trace"]["error"]

    def reports(self, messages: list[dict]) -> list[dict]:
        """What the probe reported (LOG messages whose text is JSON)."""
        return [json.loads(m["log"]["message"]) for m in messages if m["type"] == "LOG"]

    # --- memory and CPU ---------------------------------------------------

    def test_memory_limit_stops_an_allocating_component(self) -> None:
        for flags, mib in ((("--max-memory-mib", "48"), 48), ((), 256)):
            code, messages, stderr, _ = self.probe("alloc", *flags)
            error = self.last_error(messages)
            self.assertEqual((code, error["failure_type"]), (1, "system_error"), stderr)
            self.assertEqual(error["message"], f"the connector exceeded the memory limit of {mib} MiB (--max-memory-mib)")
            # It got close to the limit, not past it.
            allocated = [r["allocated_mib"] for r in self.reports(messages)]
            self.assertLess(max(allocated, default=0), mib)

    def test_cpu_deadline_stops_a_spinning_component(self) -> None:
        code, messages, stderr, seconds = self.probe("spin", "--cpu-deadline-secs", "1")
        error = self.last_error(messages)
        self.assertEqual((code, error["failure_type"]), (1, "system_error"), stderr)
        self.assertEqual(error["message"],
                         "the connector exceeded the CPU deadline of 1 s for one call (--cpu-deadline-secs)")
        self.assertLess(seconds, 5, "the spin was not stopped within seconds of the deadline")

    def test_sleeping_is_not_computing(self) -> None:
        code, messages, stderr, seconds = self.probe("sleep", "--cpu-deadline-secs", "1", ms=2000)
        self.assertEqual(code, 0, stderr)
        self.assertEqual(self.reports(messages), [{"probe": "sleep", "slept_ms": 2000}])
        self.assertGreaterEqual(seconds, 2)

    def test_sigint_stops_a_spinning_component(self) -> None:
        config = self.write("spin-sigint.json", {"probe": "spin"})
        process = subprocess.Popen([NODE, str(JS_HOST), str(GUEST_PROBE), "read", "--config", str(config),
                                    "--catalog", str(self.catalog)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.5)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=10)
        messages = self.parse(stdout.decode())
        error = self.last_error(messages)
        self.assertEqual((process.returncode, error["failure_type"]), (130, "transient_error"), stderr)
        self.assertEqual(error["message"], "the host was stopped by SIGINT before the command finished")

    # --- headers ----------------------------------------------------------

    def test_headers_http_cannot_carry_are_denied_before_connecting(self) -> None:
        before = self.server.connections
        secret = "s3cret-\u2713"
        for name, value, says in (("x-api-key", secret, "the value of header `x-api-key`"),
                                  ("x-api-key", "s3cret\r\nx-injected: 1", "the value of header `x-api-key`"),
                                  ("x-api-key", "s3cret\u00e9", "the value of header `x-api-key`"),
                                  ("x-api-key", "s3cret\0", "the value of header `x-api-key`"),
                                  ("x api key", "s3cret", "header name"),
                                  ("x-\u2713", "s3cret", "header name")):
            code, messages, stderr, seconds = self.probe(
                "http", "--allow-private-network", url=self.server.origin + "/ok", origins=[self.server.origin],
                headers=[[name, value]])
            self.assertEqual(code, 0, stderr)
            [report] = self.reports(messages)
            self.assertEqual(report["error"], "denied", (name, report))
            self.assertIn(says, report["detail"])
            self.assertNotIn("s3cret", json.dumps(messages) + stderr)
            self.assertLess(seconds, 10, "a refusal must not be retried")
        self.assertEqual(self.server.connections, before, "a refused request reached the server")
        # A header the rule allows goes out.
        code, messages, _, _ = self.probe("http", "--allow-private-network", url=self.server.origin + "/ok",
                                          origins=[self.server.origin], headers=[["x-api-key", "s3cret\tvalue ~!"]])
        self.assertEqual(self.reports(messages)[0]["status"], 200)

    # --- the network allow-list flags ------------------------------------

    def test_allow_host_replaces_the_components_list(self) -> None:
        origin = self.server.origin
        # The component declares nothing; --allow-host lets the origin in.
        code, messages, stderr, _ = self.probe("http", "--allow-host", origin, "--allow-private-network",
                                               url=origin + "/ok", origins=[])
        self.assertEqual(self.reports(messages)[0].get("status"), 200, stderr)
        # The component declares the origin; --allow-host names another: refused.
        code, messages, stderr, _ = self.probe("http", "--allow-host=http://127.0.0.1:1", url=origin + "/ok",
                                               origins=[origin])
        report = self.reports(messages)[0]
        self.assertEqual(report["error"], "denied", stderr)
        self.assertIn("allow-list", report["detail"])

    # --- response bodies --------------------------------------------------

    def peak_rss(self, config: dict, *flags: str) -> tuple[list[dict], int]:
        path = self.write(f"rss-{len(os.listdir(self.work.name))}.json", config)
        done = subprocess.run([sys.executable, "-c", PEAK_RSS, NODE, str(JS_HOST), str(GUEST_PROBE), *flags, "read",
                               "--config", str(path), "--catalog", str(self.catalog)],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return self.parse(done.stdout), int(done.stderr.rsplit("PEAK_RSS_KIB ", 1)[1]) * 1024

    def test_a_200_mib_chunked_body_is_refused_holding_about_the_cap(self) -> None:
        flood = fakes.HostileServer("huge-body")
        origin = flood.url.rsplit("/graphql", 1)[0]
        try:
            cap = 64 * MIB
            # The host's own footprint: the same run with a request that gets no body.
            _, baseline = self.peak_rss({"probe": "http", "url": "http://127.0.0.1:1/", "origins": ["http://127.0.0.1:1"]},
                                        "--allow-private-network")
            messages, peak = self.peak_rss({"probe": "http", "url": flood.url, "origins": [origin]},
                                           "--allow-private-network")
        finally:
            flood.close()
        self.assertEqual(self.reports(messages), [{"probe": "http", "error": "too-large", "detail": cap}])
        print(f"\n  peak RSS {peak / MIB:.0f} MiB on a 200 MiB chunked body (cap 64 MiB), "
              f"{baseline / MIB:.0f} MiB without a body", file=sys.stderr)
        # What the body costs: about the cap (the pieces read so far), not the whole body or twice the cap.
        self.assertLess(peak - baseline, 1.5 * cap)

    # --- input files ------------------------------------------------------

    def test_input_files_are_strict_utf8(self) -> None:
        raw = b'{"probe": "emit", "api_key": "s3cret-\xff\xfe"}'
        config = self.write("latin1.json", raw)
        offset = raw.index(b"\xff")
        code, messages, stderr, _ = self.host("check", "--config", str(config))
        status = messages[-1]["connectionStatus"]
        self.assertEqual((code, status["status"]), (0, "FAILED"), stderr)
        self.assertEqual(status["message"],
                         f"Cannot read the config file {config}: not UTF-8 text (invalid byte at offset {offset})")
        code, messages, stderr, _ = self.host("read", "--config", str(config), "--catalog", str(self.catalog))
        error = self.last_error(messages)
        self.assertEqual((code, error["failure_type"]), (1, "config_error"))
        self.assertIn("not UTF-8 text", error["message"])
        self.assertNotIn("s3cret", json.dumps(messages) + stderr)

    def test_an_input_file_over_64_mib_is_refused_before_reading_it(self) -> None:
        config = self.write("emit.json", {"probe": "emit", "count": 1})
        state = Path(self.work.name) / "huge-state.json"
        with state.open("wb") as f:  # sparse: 64 MiB and one byte, nothing written
            f.truncate(64 * MIB + 1)
        code, messages, stderr, seconds = self.host("read", "--config", str(config), "--catalog", str(self.catalog),
                                                    "--state", str(state))
        error = self.last_error(messages)
        self.assertEqual((code, error["failure_type"]), (1, "config_error"), stderr)
        self.assertEqual(error["message"], f"Cannot read the state file {state}: "
                                           "larger than the host's limit of 64 MiB for an input file")
        code, messages, _, _ = self.host("read", "--config", str(config), "--catalog", str(self.catalog),
                                         "--state", str(Path(self.work.name) / "missing.json"))
        self.assertIn("No such file or directory", self.last_error(messages)["message"])

    # --- the command line -------------------------------------------------

    def test_flags_count_anywhere_and_as_name_equals_value(self) -> None:
        config = self.write("alloc.json", {"probe": "alloc"})
        code, messages, _, _ = self.host("read", "--config", str(config), "--max-memory-mib=48",
                                         "--catalog=" + str(self.catalog), "--concurrency", "16")
        self.assertEqual(self.last_error(messages)["message"],
                         "the connector exceeded the memory limit of 48 MiB (--max-memory-mib)")

    def test_usage_errors_exit_2_with_nothing_on_stdout(self) -> None:
        config = self.write("emit-usage.json", {"probe": "emit", "count": 1})
        read = ("read", "--config", str(config), "--catalog", str(self.catalog))
        for args, says in ((read + ("--concurrency", "17"), "--concurrency must be an integer from 1 to 16"),
                           (read + ("--concurrency=0",), "--concurrency"),
                           (("check", "--config", str(config), "--concurrency", "2"), "not an option of check"),
                           (read + ("--timeout-secs", "1.5"), "--timeout-secs must be an integer of at least 1"),
                           (read + ("--timeout-secs", "0"), "--timeout-secs"),
                           (read + ("--max-memory-mib", "4097"), "--max-memory-mib must be an integer from 1 to 4096"),
                           (read + ("--cpu-deadline-secs", "0"), "--cpu-deadline-secs"),
                           (read + ("--max-response-bytes", "-1"), "--max-response-bytes"),
                           (read + ("--max-response-bytes", str(1 << 64)), "--max-response-bytes"),
                           (read + ("--allow-host", "http://a.example/path"), "origin"),
                           (read + ("--bogus",), "unknown option --bogus"),
                           (read + ("--timeout-secs",), "--timeout-secs needs a value"),
                           (("read", "--config", str(config)), "read needs --catalog")):
            code, messages, stderr, _ = self.host(*args)
            self.assertEqual((code, messages), (2, []), args)
            self.assertIn(says, stderr, args)
        code, messages, _, _ = self.host(*read, "--max-response-bytes", "0", "--timeout-secs=1",
                                         "--cpu-deadline-secs", "18446744073709551615")
        self.assertEqual((code, [m["type"] for m in messages]), (0, ["LOG"]))


if __name__ == "__main__":
    sys.exit(standin.run_tests("js-host", JsHttpRules, JsHostRuns, JsHostRecording, JsHostLimits))
