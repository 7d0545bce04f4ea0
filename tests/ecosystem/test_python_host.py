"""examples/python-host: stigg.wasm run from Python (wasmtime-py) against the stand-in.

Run with the venv that tests/ecosystem/run.sh makes (wasmtime pinned in
examples/python-host/requirements.txt): `python tests/ecosystem/test_python_host.py`.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path
from typing import Optional
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "examples" / "python-host"))
import fakes  # noqa: E402
import standin  # noqa: E402
import stigg_host  # noqa: E402
from wasmtime import component as wc  # noqa: E402

HOST_SCRIPT = HERE.parents[1] / "examples" / "python-host" / "stigg_host.py"
PROBE_WASM = Path(os.environ.get("GUEST_PROBE_WASM", standin.TARGET / "wasm32-wasip2" / "release" / "guest_probe.wasm"))
MIB = 1024 * 1024
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
        stigg_host.check_contract(["wasi:io/poll@0.2.6", "airbyte:connector/http@0.5.0",
                                   "airbyte:connector/source@0.5.7"])
        for name in ("airbyte:connector/http@0.6.0", "airbyte:connector/sink@0.4.0"):
            with self.assertRaisesRegex(RuntimeError, "runs airbyte:connector@0.5.x components"):
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


class HostileServer(socketserver.ThreadingTCPServer):
    """On 127.0.0.1: reads a request's head, then answers as `behaviour`
    (one of the methods of _Hostile) says; `hits` counts requests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: str) -> None:
        self.behaviour, self.hits = behaviour, 0
        super().__init__(("127.0.0.1", 0), _Hostile)
        self.origin = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Hostile(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = self.request.recv(4096)
            if not data:
                return
            head += data
        self.server.hits += 1
        try:
            getattr(self, self.server.behaviour)()
        except OSError:  # the client gave up: what these servers are for
            pass

    def trickle(self, data: bytes, pause: float = 0.5) -> None:
        for byte in data:
            self.request.sendall(bytes([byte]))
            time.sleep(pause)

    def trickle_status(self) -> None:
        self.trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def trickle_headers(self) -> None:
        self.request.sendall(b"HTTP/1.1 200 OK\r\n")
        self.trickle(b"X-Slow: " + b"s" * 100 + b"\r\nContent-Length: 2\r\n\r\nok")

    def trickle_body(self) -> None:
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        self.trickle(b"x" * 100)

    def endless_chunks(self) -> None:
        self.request.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while True:
            self.request.sendall(b"10\r\n" + b"x" * 16 + b"\r\n")
            time.sleep(0.05)

    def negative_chunk(self) -> None:
        self.request.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n")

    def bad_status_line(self) -> None:
        self.request.sendall(b"HELLO THERE\r\n\r\n")

    def huge_chunk(self) -> None:
        """200 MiB as one declared chunk (http.client alone would read it whole)."""
        self.request.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % (200 * MIB))
        self.stream(200 * MIB)
        self.request.sendall(b"\r\n0\r\n\r\n")

    def huge_until_close(self) -> None:
        """200 MiB without a length: the body ends when the connection does."""
        self.request.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        self.stream(200 * MIB)

    def stream(self, size: int) -> None:
        piece = b"x" * MIB
        for _ in range(size // MIB):
            self.request.sendall(piece)

    def ok(self) -> None:
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


class HostileServers(unittest.TestCase):
    """One deadline per request, whatever the server does, and every failure
    of the HTTP stack a WIT error (never an exception)."""

    def exchange(self, behaviour: str, timeout: float = 2, max_bytes: int = 1 << 20,
                 headers=()) -> tuple[object, float, HostileServer]:
        server = HostileServer(behaviour)
        self.addCleanup(server.close)
        http_ = stigg_host.HttpCapability(timeout, max_bytes, policy=stigg_host.NetworkPolicy(allow_private=True))
        http_.allowed = {stigg_host.origin_of(server.origin, bare=True)}
        start = time.monotonic()
        answer = http_.send(None, request(server.origin + "/x", headers=headers))
        return answer, time.monotonic() - start, server

    def assert_error(self, answer, tag: str) -> None:
        self.assertIsInstance(answer, wc.Variant, answer)
        self.assertEqual(answer.tag, tag, answer.payload)

    def test_a_trickling_server_gets_timeout_at_the_deadline(self) -> None:
        # Each byte comes well within a per-read timeout; the request as a whole does not.
        results = {}

        def one(behaviour: str) -> None:
            results[behaviour] = self.exchange(behaviour)
        threads = [threading.Thread(target=one, args=(b,)) for b in
                   ("trickle_status", "trickle_headers", "trickle_body", "endless_chunks")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for behaviour, (answer, elapsed, _) in results.items():
            with self.subTest(behaviour):
                self.assert_error(answer, "timeout")
                self.assertIn("--timeout-secs", answer.payload)
                self.assertGreater(elapsed, 1.9)
                self.assertLess(elapsed, 3.0)

    def test_a_name_lookup_ends_at_the_deadline_and_a_failed_one_is_transport(self) -> None:
        real = socket.getaddrinfo

        def slow(*args, **kwargs):
            time.sleep(4)
            return real(*args, **kwargs)

        def failing(*_args, **_kwargs):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        with mock.patch.object(stigg_host.socket, "getaddrinfo", slow):
            answer, elapsed, server = self.exchange("ok", timeout=1)
        self.assert_error(answer, "timeout")
        self.assertIn("--timeout-secs", answer.payload)
        self.assertLess(elapsed, 2.5, "the lookup was waited for past the request's deadline")
        self.assertEqual(server.hits, 0)
        with mock.patch.object(stigg_host.socket, "getaddrinfo", failing):
            answer, _, _ = self.exchange("ok")
        self.assert_error(answer, "transport")
        self.assertIn("Name or service not known", answer.payload)

    def test_protocol_errors_are_transport(self) -> None:
        for behaviour in ("negative_chunk", "bad_status_line"):
            answer, elapsed, _ = self.exchange(behaviour)
            self.assert_error(answer, "transport")
            self.assertLess(elapsed, 1.5)

    def test_header_names_and_values_http_cannot_carry_are_denied_before_connecting(self) -> None:
        for name, value, shown in (("x-api-key", "key\r\nX-Injected: 1", "x-api-key"),
                                   ("x-api-key", "key-\u2713", "x-api-key"),
                                   ("x-api-key", "key\x00", "x-api-key"),
                                   ("x api key", "fine", "x api key")):
            answer, _, server = self.exchange("ok", headers=[(name, value)])
            self.assert_error(answer, "denied")
            self.assertIn(f"`{shown}`", answer.payload)
            self.assertNotIn("key-", answer.payload.replace("x-api-key", ""))
            self.assertEqual(server.hits, 0, "a refused request reached the server")
        answer, _, _ = self.exchange("ok", headers=[("X-Api-Key", "\tvisible ~ascii!")])
        self.assertEqual(answer.status, 200)

    def test_a_200_mib_body_is_refused_at_the_cap_in_bounded_memory(self) -> None:
        # Through the host's CLI, with the probe sending one request: the
        # host's peak RSS stays under twice the cap, chunked or not.
        for behaviour in ("huge_chunk", "huge_until_close"):
            server = HostileServer(behaviour)
            self.addCleanup(server.close)
            with tempfile.NamedTemporaryFile("w", suffix=".json") as config:
                json.dump({"probe": "http", "url": server.origin + "/big", "origins": [server.origin]}, config)
                config.flush()
                process = subprocess.Popen(
                    [sys.executable, str(HOST_SCRIPT), "--allow-private-network", str(PROBE_WASM), "read",
                     "--config", config.name, "--catalog", config.name, "--max-response-bytes", str(64 * MIB)],
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                stdout = process.stdout.read()
                _, status, usage = os.wait4(process.pid, 0)
                process.returncode = os.waitstatus_to_exitcode(status)
                process.stdout.close()
            self.assertEqual(process.returncode, 0, behaviour)
            reports = [json.loads(json.loads(line)["log"]["message"]) for line in stdout.splitlines()]
            self.assertEqual(reports[-1]["error"], "too-large", behaviour)
            self.assertEqual(reports[-1]["detail"], 64 * MIB)
            peak = usage.ru_maxrss * 1024  # kB on Linux
            # A child's peak counts its parent's (the kernel keeps the high-water
            # mark across exec): this process's own is named to tell them apart.
            own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            self.assertLess(peak, 2 * 64 * MIB,
                            f"{behaviour}: peak RSS {peak / MIB:.0f} MiB (this test's own {own / MIB:.0f} MiB)")


class ProbeRuns(standin.MessageLines):
    """The guest probe (tests/guest-probe) through the host's CLI: limits,
    flags, input files, header refusals."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.work = tempfile.TemporaryDirectory(prefix="stigg-python-host-probe-")
        cls.catalog = Path(cls.work.name) / "catalog.json"
        cls.catalog.write_text(json.dumps({"streams": []}))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.work.cleanup()

    def write(self, name: str, content) -> Path:
        path = Path(self.work.name) / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(json.dumps(content))
        return path

    def probe(self, config: dict, *flags: str, command: str = "read") -> tuple[int, list[dict], str, float]:
        path = self.write("config.json", config)
        args = ["--config", str(path)] + (["--catalog", str(self.catalog)] if command == "read" else [])
        start = time.monotonic()
        done = subprocess.run([sys.executable, str(HOST_SCRIPT), "--allow-private-network", str(PROBE_WASM),
                               command, *args, *flags], capture_output=True, text=True, timeout=60)
        return done.returncode, self.parse(done.stdout), done.stderr, time.monotonic() - start

    def assert_trace(self, messages: list[dict], message: str, failure_type: str = "system_error") -> None:
        self.assertEqual(messages[-1]["type"], "TRACE", messages[-1:])
        error = messages[-1]["trace"]["error"]
        self.assertEqual((error["message"], error["failure_type"]), (message, failure_type))

    def test_the_memory_limit_stops_an_allocating_component_and_is_named(self) -> None:
        for flags, mib in ((("--max-memory-mib", "48"), 48), ((), 256)):
            code, messages, _, _ = self.probe({"probe": "alloc"}, *flags)
            self.assertEqual(code, 1)
            self.assert_trace(messages, f"the connector exceeded the memory limit of {mib} MiB (--max-memory-mib)")
            grown = [json.loads(m["log"]["message"])["allocated_mib"] for m in messages if m["type"] == "LOG"]
            self.assertLess(max(grown, default=0), mib)

    def test_a_component_needing_more_memory_than_the_limit_to_start_is_refused(self) -> None:
        code, messages, _, _ = self.probe({"probe": "spin"}, "--max-memory-mib=1", command="check")
        self.assertEqual(code, 1)
        self.assert_trace(messages, "the connector exceeded the memory limit of 1 MiB (--max-memory-mib)")

    def test_the_cpu_deadline_stops_a_spinning_component(self) -> None:
        code, messages, _, elapsed = self.probe({"probe": "spin"}, "--cpu-deadline-secs", "1")
        self.assertEqual(code, 1)
        self.assert_trace(messages,
                          "the connector exceeded the CPU deadline of 1 s for one call (--cpu-deadline-secs)")
        self.assertLess(elapsed, 4)

    def test_waiting_does_not_count_against_the_cpu_deadline(self) -> None:
        code, messages, _, elapsed = self.probe({"probe": "sleep", "ms": 2000}, "--cpu-deadline-secs", "1")
        self.assertEqual(code, 0, messages)
        self.assertEqual(json.loads(messages[-1]["log"]["message"]), {"probe": "sleep", "slept_ms": 2000})
        self.assertGreater(elapsed, 2)

    def test_headers_http_cannot_carry_are_denied_without_connecting(self) -> None:
        server = HostileServer("ok")
        self.addCleanup(server.close)
        for value in ("key\r\nX-Injected: 1", "key-\u2713"):
            code, messages, _, _ = self.probe({"probe": "http", "url": server.origin + "/", "origins": [server.origin],
                                               "headers": [["x-api-key", value]]})
            self.assertEqual(code, 0)
            report = json.loads(messages[-1]["log"]["message"])
            self.assertEqual(report["error"], "denied")
            self.assertEqual(report["detail"],
                             "the value of header `x-api-key` holds a character an HTTP header cannot carry")
        self.assertEqual(server.hits, 0)

    def test_every_flag_is_accepted_after_the_command_and_as_name_equals_value(self) -> None:
        server = HostileServer("trickle_body")
        self.addCleanup(server.close)
        # The component declares no origin: --allow-host alone lets the request out.
        code, messages, _, elapsed = self.probe(
            {"probe": "http", "url": server.origin + "/"}, f"--allow-host={server.origin}", "--timeout-secs", "2",
            "--max-response-bytes=1000", "--max-memory-mib", "64", "--cpu-deadline-secs=10", "--concurrency=3",
            "--also-allow", "https://example.com")
        self.assertEqual(code, 0, messages)
        self.assertEqual(json.loads(messages[-1]["log"]["message"])["error"], "timeout")
        self.assertLess(elapsed, 4)
        args = stigg_host.parse_args(["c.wasm", "read", "--config", "c", "--catalog", "k", "--allow-host",
                                      "HTTPS://API.example.com", "--also-allow=http://127.0.0.1:8080",
                                      "--timeout-secs=5", "--max-response-bytes", "0", "--concurrency", "16"])
        self.assertEqual((args.allow_host, args.also_allow, args.timeout_secs, args.max_response_bytes,
                          args.concurrency),
                         (["https://api.example.com:443"], ["http://127.0.0.1:8080"], 5, 0, 16))

    def test_usage_errors_exit_2_with_nothing_on_stdout(self) -> None:
        read = ["c.wasm", "read", "--config", "c.json", "--catalog", "k.json"]
        wrong = [read + ["--concurrency", "17"], read + ["--concurrency", "0"], read + ["--concurrency", "two"],
                 ["c.wasm", "spec", "--concurrency", "3"], ["c.wasm", "spec", "--timeout-secs", "0"],
                 ["c.wasm", "spec", "--timeout-secs=1.5"], ["c.wasm", "spec", "--max-memory-mib", "4097"],
                 ["c.wasm", "spec", "--max-memory-mib=0"], ["c.wasm", "spec", "--cpu-deadline-secs", "0"],
                 ["c.wasm", "spec", "--max-response-bytes", "-1"], ["c.wasm", "spec", "--allow-host", "example.com"],
                 ["c.wasm", "spec", "--also-allow", "https://x.io/path"], ["c.wasm", "spec", "--no-such-flag"],
                 ["c.wasm", "check"], ["c.wasm", "read", "--config", "c.json"], ["c.wasm", "spec", "--timeout-secs"],
                 ["c.wasm", "spec", "--allow-plain-http=yes"], ["c.wasm", "spec", "extra"], ["c.wasm"], []]
        for args in wrong:
            with self.subTest(args), self.assertRaises(stigg_host.UsageError):
                stigg_host.parse_args(args)
        # As a program: exit 2, a message on stderr, nothing on stdout.
        for args in (wrong[0], wrong[3], wrong[6], wrong[-1]):
            with self.subTest(args):
                done = subprocess.run([sys.executable, str(HOST_SCRIPT), *args],
                                      capture_output=True, text=True, timeout=60)
                self.assertEqual((done.returncode, done.stdout), (2, ""))
                self.assertIn("usage:", done.stderr)
                self.assertNotIn("Traceback", done.stderr)

    def test_input_files_are_strict_utf8_and_capped_before_reading(self) -> None:
        latin1 = self.write("latin1.json", b'{"probe": "spin", "name": "caf\xe9"}')
        huge = Path(self.work.name) / "huge-state.json"
        with huge.open("wb") as file:
            file.truncate(64 * MIB + 1)  # sparse: the host must refuse it by its size
        expected = {latin1: "not UTF-8 text (invalid byte at offset 30)",
                    huge: "larger than the host's limit of 64 MiB for an input file"}
        for command, args, path, what in (
                ("check", ["--config", str(latin1)], latin1, "config"),
                ("read", ["--config", str(latin1), "--catalog", str(self.catalog)], latin1, "config"),
                ("read", ["--config", str(self.catalog), "--catalog", str(self.catalog), "--state", str(huge)],
                 huge, "state")):
            with self.subTest(command=command, what=what):
                start = time.monotonic()
                done = subprocess.run([sys.executable, str(HOST_SCRIPT), str(PROBE_WASM), command, *args],
                                      capture_output=True, text=True, timeout=60)
                message = f"Cannot read the {what} file {path}: {expected[path]}"
                last = self.parse(done.stdout)[-1]
                if command == "check":
                    self.assertEqual(done.returncode, 0)
                    self.assertEqual(last["connectionStatus"], {"status": "FAILED", "message": message})
                else:
                    self.assertEqual(done.returncode, 1)
                    self.assert_trace([last], message, "config_error")
                self.assertNotIn("caf", done.stdout)
                self.assertLess(time.monotonic() - start, 5)

    def test_an_unexpected_exception_is_a_trace_error_not_a_traceback(self) -> None:
        script = ("import sys; sys.path.insert(0, sys.argv[1]); import stigg_host\n"
                  "def boom(*args): raise KeyError('boom')\n"
                  "stigg_host.main = boom\n"
                  "sys.exit(stigg_host.run(['c.wasm', 'spec']))")
        done = subprocess.run([sys.executable, "-c", script, str(HOST_SCRIPT.parent)],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 1)
        self.assert_trace(self.parse(done.stdout), "the host failed unexpectedly: KeyError: 'boom'")
        self.assertNotIn("Traceback", done.stderr)
        self.assertEqual(len(done.stderr.splitlines()), 1, done.stderr)


class Signals(standin.MessageLines):
    """SIGTERM and SIGINT in the middle of a read whose stdout is taken
    slowly: the batch being written is finished, then one TRACE ERROR."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.stand = standin.Standin(API_KEY, 2000)
        cls.work = tempfile.TemporaryDirectory(prefix="stigg-python-host-signals-")
        cls.config = Path(cls.work.name) / "config.json"
        cls.config.write_text(json.dumps({"api_key": API_KEY, "base_url": cls.stand.url, "page_size": 100}))
        cls.catalog = Path(cls.work.name) / "catalog.json"
        cls.catalog.write_text(json.dumps(CATALOG))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.stand.close()
        cls.work.cleanup()

    def stopped_by(self, signo: int) -> tuple[int, str]:
        process = subprocess.Popen([sys.executable, str(HOST_SCRIPT), "--allow-private-network",
                                    str(standin.STIGG_WASM), "read", "--config", str(self.config),
                                    "--catalog", str(self.catalog)],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        taken = []

        def slow_reader() -> None:  # 10 KB per 50 ms
            while chunk := process.stdout.read1(10_000):
                taken.append(chunk)
                time.sleep(0.05)
        reader = threading.Thread(target=slow_reader)
        reader.start()
        time.sleep(1.2)
        process.send_signal(signo)
        reader.join(timeout=20)
        code = process.wait(timeout=10)
        process.stdout.close()
        return code, b"".join(taken).decode()

    def check_stop(self, signo: int, name: str) -> None:
        code, stdout = self.stopped_by(signo)
        self.assertEqual(code, 128 + signo, "killed by a signal (e.g. -11, a segfault) or exited")
        self.assertTrue(stdout.endswith("\n"))
        messages = self.parse(stdout)  # every line whole
        self.assertGreater(sum(m["type"] == "RECORD" for m in messages), 0)
        self.assertLess(sum(m["type"] == "RECORD" for m in messages), 2000, "the read was not stopped")
        self.assertEqual(messages[-1]["type"], "TRACE")
        self.assertEqual(messages[-1]["trace"]["error"]["failure_type"], "transient_error")
        self.assertEqual(messages[-1]["trace"]["error"]["message"],
                         f"the host was stopped by {name} before the command finished")

    def test_sigterm_finishes_the_batch_then_a_trace_error_exit_143(self) -> None:
        self.check_stop(signal.SIGTERM, "SIGTERM")

    def test_sigint_is_the_same_and_never_a_segfault(self) -> None:
        self.check_stop(signal.SIGINT, "SIGINT")


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


# A key whose escaped and encoded forms differ from it (the connector takes visible ASCII only).
RECORDING_KEY = 'py-rec/key+"odd"~5f3a9c'
RECORDED_STREAMS = (("customers", "incremental"), ("subscriptions", "full_refresh"),
                    ("credit_grants", "full_refresh"))


class Recording(standin.MessageLines):
    """--record, --replay and --debug, as tests/e2e/tests/recording.rs
    checks them on the Rust host: a recorded read replays with the stand-in
    stopped and gives the same messages, the recording holds the key in no
    form, a request that was not recorded fails naming the next one, and
    --debug shows each request."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.work = tempfile.TemporaryDirectory(prefix="stigg-python-host-recording-")
        cls.recording = Path(cls.work.name) / "recording"
        stand = standin.Standin(RECORDING_KEY, 30)
        try:
            config, catalog = cls.inputs(stand, RECORDED_STREAMS, "recorded")
            # --record after the command, as any flag may be.
            cls.recorded = cls.run_host("--allow-private-network", "read", "--config", config, "--catalog", catalog,
                                        "--record", str(cls.recording))
            cls.recorded_requests = stand.admin("stats")["requests"]
        finally:
            stand.close()  # the replay has no server to reach

    @classmethod
    def tearDownClass(cls) -> None:
        cls.work.cleanup()

    @classmethod
    def inputs(cls, stand: standin.Standin, streams, name: str, page_size: int = 50) -> tuple[str, str]:
        """A config for ``stand`` (pacing off) and a catalog of ``streams`` (name, sync mode)."""
        config = Path(cls.work.name) / f"{name}-config.json"
        config.write_text(json.dumps({"api_key": RECORDING_KEY, "base_url": stand.url, "page_size": page_size,
                                      "rate_limits": {"*": 6_000_000}}))
        return str(config), cls.catalog(streams, name)

    @classmethod
    def catalog(cls, streams, name: str) -> str:
        catalog = Path(cls.work.name) / f"{name}-catalog.json"
        catalog.write_text(json.dumps({"streams": [{
            "stream": {"name": stream, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
            "sync_mode": mode, "destination_sync_mode": "append"} for stream, mode in streams]}))
        return str(catalog)

    @classmethod
    def run_host(cls, *args: str) -> tuple[int, str, str]:
        """The host with ``args`` (flags anywhere): exit code, stdout, stderr."""
        first = [args[0]] if args and args[0].startswith("--") else []
        done = subprocess.run([sys.executable, str(HOST_SCRIPT), *first, str(standin.STIGG_WASM),
                               *args[len(first):]], capture_output=True, text=True, timeout=300)
        return done.returncode, done.stdout, done.stderr

    def test_a_recorded_read_replays_without_the_network_and_gives_the_same_messages(self) -> None:
        code, stdout, stderr = self.recorded
        self.assertEqual(code, 0, stderr)
        self.assertGreater(self.recorded_requests, 30, "a read of every customer's grants")
        recorded = standin.by_stream(self.parse(stdout))
        for stream, _ in RECORDED_STREAMS:
            self.assertTrue(any(m["type"] == "RECORD" for m in recorded.get(stream, [])), stream)
        # No --allow-private-network: nothing is connected to.
        code, stdout, stderr = self.run_host(
            "read", "--config", str(self.recording / "config.json"),
            "--catalog", str(self.recording / "catalog.json"), "--replay", str(self.recording))
        self.assertEqual(code, 0, stderr + stdout[-2000:])
        replayed = standin.by_stream(self.parse(stdout))
        self.assertEqual(sorted(replayed), sorted(recorded))
        for stream, messages in recorded.items():
            first_difference = next((i for i, (a, b) in enumerate(zip(replayed[stream], messages)) if a != b), None)
            self.assertIsNone(first_difference, stream if first_difference is None else
                              (stream, replayed[stream][first_difference], messages[first_difference]))
            self.assertEqual(len(replayed[stream]), len(messages), stream)

    def test_the_recording_holds_the_key_in_no_form(self) -> None:
        self.assertEqual(self.recorded[0], 0, self.recorded[2])
        files = sorted(self.recording.iterdir())
        self.assertEqual([f.name for f in files], ["catalog.json", "config.json", "exchanges.jsonl"])
        forms = standin.key_forms(RECORDING_KEY)
        self.assertGreater(len(forms), 10)
        for path in files:
            text = path.read_text(encoding="utf-8")
            for form in forms:
                self.assertNotIn(form, text, f"{path.name} holds {form!r}")
        self.assertEqual(json.loads((self.recording / "config.json").read_text())["api_key"], "<secret>")
        exchanges = (self.recording / "exchanges.jsonl").read_text().splitlines()
        self.assertGreater(len(exchanges), 30)
        first = json.loads(exchanges[0])
        self.assertIn(["x-api-key", "<secret>"], first["request"]["headers"])
        self.assertEqual(first["response"]["status"], 200)

    def test_a_request_that_was_not_recorded_fails_naming_it(self) -> None:
        stand = standin.Standin(RECORDING_KEY, 5)
        self.addCleanup(stand.close)
        recording = Path(self.work.name) / "customers-only"
        config, catalog = self.inputs(stand, [("customers", "full_refresh")], "customers-only")
        code, _, stderr = self.run_host("--allow-private-network", "--record", str(recording), "read",
                                        "--config", config, "--catalog", catalog)
        self.assertEqual(code, 0, stderr)
        # Another stream than the one recorded.
        features = self.catalog([("features", "full_refresh")], "features")
        code, stdout, _ = self.run_host("read", "--config", str(recording / "config.json"), "--catalog", features,
                                        "--replay", str(recording))
        self.assertEqual(code, 1)
        errors = [m["trace"]["error"]["message"] for m in self.parse(stdout)
                  if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
        self.assertTrue(any("was not recorded" in e and "the next recorded request is POST" in e for e in errors),
                        errors)

    def test_debug_shows_each_request_and_no_key(self) -> None:
        stand = standin.Standin(RECORDING_KEY, 12)
        self.addCleanup(stand.close)
        config, catalog = self.inputs(stand, [("customers", "full_refresh")], "debug", page_size=5)

        def debug_lines(stdout: str) -> list[str]:
            return [m["log"]["message"] for m in self.parse(stdout)
                    if m["type"] == "LOG" and m["log"]["level"] == "DEBUG"]
        code, stdout, _ = self.run_host("--allow-private-network", "read", "--config", config, "--catalog", catalog)
        self.assertEqual((code, debug_lines(stdout)), (0, []), "off by default")
        before = stand.admin("stats")["requests"]
        code, stdout, stderr = self.run_host("--allow-private-network", "read", "--config", config,
                                             "--catalog", catalog, "--debug")
        self.assertEqual(code, 0, stderr)
        self.assertNotIn(RECORDING_KEY, stdout)
        lines = debug_lines(stdout)
        self.assertEqual(len(lines), stand.admin("stats")["requests"] - before, lines)
        self.assertGreaterEqual(len(lines), 3, "12 customers in pages of 5")
        for line in lines:
            self.assertTrue(line.startswith(f"POST {stand.url}"), line)
            for part in (" query ", " variables {", ": HTTP 200, "):
                self.assertIn(part, line)
            self.assertTrue(line.endswith(" ms"), line)

    def test_the_flags_are_listed_and_record_and_replay_do_not_go_together(self) -> None:
        code, stdout, _ = self.run_host("--help")
        self.assertEqual(code, 0)
        for flag in ("--record DIR", "--replay DIR", "--debug"):
            self.assertIn(flag, stdout)
        self.assertTrue(stigg_host.parse_args(["c.wasm", "spec", "--debug"]).debug)
        args = stigg_host.parse_args(["--replay=r", "c.wasm", "check", "--config", "c"])
        self.assertEqual((args.replay, args.record), ("r", None))
        both = ["c.wasm", "spec", "--record", "r", "--replay", "r"]
        with self.assertRaises(stigg_host.UsageError):
            stigg_host.parse_args(both)
        done = subprocess.run([sys.executable, str(HOST_SCRIPT), *both], capture_output=True, text=True, timeout=60)
        self.assertEqual((done.returncode, done.stdout), (2, ""))
        self.assertIn("--record and --replay", done.stderr)


if __name__ == "__main__":
    sys.exit(standin.run_tests("python-host", HttpCapabilityRules, HostileServers, ProbeRuns, PythonHostRuns,
                               Recording, Signals))
