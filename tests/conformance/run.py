#!/usr/bin/env python3
"""Host conformance: every case of cases.json through each host's CLI, against
the stand-in; hosts must meet the case's expectations and give the same messages.

    python3 tests/conformance/run.py [--hosts rust,python,js] [--case SUBSTRING]

Hosts (a host that cannot run fails every case):
  rust    target/debug/host run ...                    (cargo build -p host-cli)
  python  examples/python-host/stigg_host.py with the venv tests/ecosystem/run.sh makes
          (target/ecosystem/python-host; PYTHON_HOST_PYTHON overrides)
  js      node examples/js-host/host.mjs ...           (examples/js-host/install.sh)

Messages are compared after these allowed differences are taken out:
  - `emitted_at` (a clock);
  - LOG messages (the Rust host reads each stream in its own instance, so a
    component's per-instance LOGs come once per stream; their texts are diagnostics);
  - the stand-in's port (each run gets a fresh stand-in): shown as STANDIN;
  - the order between streams of a read (the Rust host interleaves streams read
    at once): messages are compared stream by stream, in order;
  - for cases with "compare": "status": message texts, which quote the host's
    own transport, timeout or file error (`ECONNREFUSED` vs `Connection refused`),
    or, for a network-policy refusal, start with `POST URL: ` in the Rust and JS
    hosts but not in the Python host.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "ecosystem"))
import fakes  # noqa: E402
import standin  # noqa: E402  (paths of the built binaries)

API_KEY = "conformance-key"
CUSTOMERS = 150
PYTHON_HOST_PYTHON = os.environ.get("PYTHON_HOST_PYTHON",
                                    str(ROOT / "target" / "ecosystem" / "python-host" / "bin" / "python"))
HOSTS = {
    "rust": [str(ROOT / "target" / "debug" / "host"), "run"],
    "python": [PYTHON_HOST_PYTHON, str(ROOT / "examples" / "python-host" / "stigg_host.py")],
    "js": [os.environ.get("NODE", "node"), str(ROOT / "examples" / "js-host" / "host.mjs")],
}


def start_standin(extra: list[str]) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [str(standin.STANDIN), "--port", "0", "--api-key", API_KEY, "--customers", str(CUSTOMERS), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first = process.stdout.readline().strip()
    if not first.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"stigg-standin did not start: {first!r}")
    return process, first[len("listening on "):]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


def strip(value, base: str):
    """`value` without emitted_at, with the stand-in's origin shown as STANDIN."""
    if isinstance(value, dict):
        return {k: strip(v, base) for k, v in value.items() if k != "emitted_at"}
    if isinstance(value, list):
        return [strip(v, base) for v in value]
    if isinstance(value, str):
        return value.replace(base, "STANDIN")
    return value


def stream_of(message: dict) -> str:
    """Which stream a message belongs to ('' for none)."""
    body = message.get(message["type"].lower(), {})
    if message["type"] == "RECORD":
        return body.get("stream", "")
    if message["type"] == "STATE":
        return body.get("stream", {}).get("stream_descriptor", {}).get("name", "")
    if message["type"] == "TRACE":
        for part in ("stream_status", "error", "estimate"):
            inner = body.get(part, {})
            name = inner.get("stream_descriptor", {}).get("name") or (inner.get("name") if part == "estimate" else None)
            if name:
                return name
    return ""


def start_server(case: dict):
    """The server a case talks to: the stand-in (through a counting proxy if
    asked) or a hostile fake. Returns (url, requests(), close())."""
    if "server" in case:
        server = fakes.HostileServer(case["server"])
        return server.url, lambda: server.requests, server.close
    process, url = start_standin(case.get("standin", []))
    proxy = fakes.CountingProxy(url) if case.get("proxy") else None

    def requests() -> int:
        with urllib.request.urlopen(f"{url.rsplit('/graphql', 1)[0]}/_admin/stats", timeout=10) as reply:
            return json.load(reply)["requests"]

    def close() -> None:
        if proxy:
            proxy.close()
        stop(process)

    return (proxy.url if proxy else url), requests, close, *([proxy] if proxy else [])


def write_inputs(case: dict, url: str, work: Path) -> list[str]:
    """The command and its file arguments, the files written under `work`."""
    args = [case["command"]]
    if case["command"] != "spec":
        base = {"origins": []} if case.get("probe") else {"api_key": API_KEY, "base_url": url}
        config = json.dumps({**base, **case.get("config", {})}).encode()
        config = bytes.fromhex(case["config_hex"]) if "config_hex" in case else config
        (work / "config.json").write_bytes(config)
        args += ["--config", str(work / "config.json")]
    if case["command"] == "read":
        streams = [{"stream": {"name": n, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
                    "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
                   for n in case.get("streams", [])]
        (work / "catalog.json").write_text(json.dumps({"streams": streams}))
        args += ["--catalog", case.get("catalog_path", str(work / "catalog.json"))]
    if "state_entries" in case:
        entry = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "customers"},
                                              "stream_state": {"mode": "full_refresh_complete"}}}
        # Written piece by piece: a child's peak RSS counts this process's
        # size when it was started, which must stay small.
        with open(work / "state.json", "w") as state:
            state.write("[" + ",".join([json.dumps(entry)] * min(1, case["state_entries"])))
            for _ in range(case["state_entries"] - 1):
                state.write("," + json.dumps(entry))
            state.write("]")
        args += ["--state", str(work / "state.json")]
    return args + case.get("args", [])


def run_host(argv: list[str], case: dict, work: Path) -> dict:
    """Runs a host to its end: exit status, stdout, stderr, wall seconds and
    peak RSS. With `signal`, stdout is read slowly (4 KiB every 20 ms, so the
    pipe stays full) and the signal sent after `after_s` seconds."""
    signal_case = case.get("signal")
    started = time.monotonic()
    with open(work / "stderr", "w+b") as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr)
        out, sent = bytearray(), False
        while True:
            chunk = process.stdout.read1(4096) if signal_case else process.stdout.read()
            if not chunk:
                break
            out += chunk
            if signal_case:
                time.sleep(0.02)
                if not sent and time.monotonic() - started > signal_case["after_s"]:
                    process.send_signal(getattr(signal, signal_case["name"]))
                    sent = True
            if time.monotonic() - started > 600:
                process.kill()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        errors = stderr.read().decode(errors="replace")
    return {"exit": process.returncode, "stdout": out.decode(errors="replace"), "stderr": errors,
            "seconds": time.monotonic() - started, "rss_mib": usage.ru_maxrss / 1024}


class Launcher:
    """Starts the hosts from a small process of its own: a child's peak RSS
    counts the size of the process that started it (the kernel keeps the
    high-water mark across exec), and this runner grows with its fakes."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--launcher"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, argv: list[str], case: dict, work: Path) -> dict:
        self.process.stdin.write(json.dumps([argv, case, str(work)]) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def serve_launches() -> int:
    """The launcher's side: one `run_host` per line of stdin, its result a line of stdout."""
    for line in sys.stdin:
        argv, case, work = json.loads(line)
        print(json.dumps(run_host(argv, case, Path(work))), flush=True)
    return 0


LAUNCHER: Launcher | None = None


def run_case(case: dict, host: str, wasm: str, work: Path) -> dict:
    """Runs one case on one host: {exit, messages, by_stream, requests, ...}."""
    url, requests, close, *proxy = start_server(case)
    try:
        args = write_inputs(case, url, work)
        flags = (["--allow-private-network"] if case.get("private_network", True) else []) + case.get("flags", [])
        component = str(standin.GUEST_PROBE_WASM) if case.get("probe") else case.get("component_path", wasm)
        result = LAUNCHER.run([*HOSTS[host], *flags, component, *args], case, work)
        result["requests"] = requests()
        if "rss_growth_mib_at_most" in case["expect"]:
            footprint = LAUNCHER.run([*HOSTS[host], component, "spec"], {}, work)["rss_mib"]
            result["rss_growth_mib"] = result["rss_mib"] - footprint
    finally:
        close()
    base = url.rsplit("/graphql", 1)[0]
    lines = result["stdout"].splitlines()
    result["whole_lines"] = result["stdout"].endswith("\n") or not result["stdout"]
    messages = [json.loads(line) for line in lines]
    result["last"] = messages[-1] if messages else None
    result["messages"] = [strip(m, base) for m in messages if m.get("type") != "LOG"]
    result["by_stream"] = {}
    for message in result["messages"]:
        result["by_stream"].setdefault(stream_of(message), []).append(message)
    result["max_in_flight"] = proxy[0].max_in_flight if proxy else None
    return result


def expectation_failures(case: dict, result: dict) -> list[str]:
    expect, messages, problems = case["expect"], result["messages"], []
    if result["exit"] != expect["exit"]:
        problems.append(f"exit {result['exit']}, expected {expect['exit']}: {result['stderr'][-300:]}")
    types = [m["type"] for m in messages]
    if "types" in expect and types != expect["types"]:
        problems.append(f"message types {types}, expected {expect['types']}")
    statuses = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    if "status" in expect and [s["status"] for s in statuses] != [expect["status"]]:
        problems.append(f"statuses {statuses}, expected {expect['status']}")
    if "message_has" in expect and not any(expect["message_has"] in s.get("message", "") for s in statuses):
        problems.append(f"no status message with {expect['message_has']!r}: {statuses}")
    if "records" in expect:
        counts = Counter(m["record"]["stream"] for m in messages if m["type"] == "RECORD")
        if dict(counts) != expect["records"]:
            problems.append(f"records {dict(counts)}, expected {expect['records']}")
    if "failure_types" in expect:
        failures = [m["trace"]["error"].get("failure_type") for m in messages
                    if m["type"] == "TRACE" and m["trace"].get("type") == "ERROR"]
        if failures != expect["failure_types"]:
            problems.append(f"TRACE ERROR failure types {failures}, expected {expect['failure_types']}")
    if "max_in_flight" in expect and not 1 < result["max_in_flight"] <= expect["max_in_flight"]:
        problems.append(f"{result['max_in_flight']} requests in flight at most, expected 2 to {expect['max_in_flight']}")
    if "standin_requests" in case and result["requests"] != case["standin_requests"]:
        problems.append(f"the stand-in had {result['requests']} requests, expected {case['standin_requests']}")
    if "requests_at_most" in expect and result["requests"] > expect["requests_at_most"]:
        problems.append(f"the server had {result['requests']} requests, expected {expect['requests_at_most']} at most")
    errors = [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"].get("type") == "ERROR"]
    if "error_message" in expect and expect["error_message"] not in [e["message"] for e in errors]:
        problems.append(f"no TRACE ERROR {expect['error_message']!r}: {[e['message'] for e in errors]}")
    if "seconds_at_most" in expect and result["seconds"] > expect["seconds_at_most"]:
        problems.append(f"ran {result['seconds']:.1f} s, expected {expect['seconds_at_most']} s at most")
    if "rss_growth_mib_at_most" in expect and result["rss_growth_mib"] > expect["rss_growth_mib_at_most"]:
        problems.append(f"peak RSS {result['rss_growth_mib']:.0f} MiB over the host's own footprint, "
                        f"expected {expect['rss_growth_mib_at_most']} MiB at most")
    if not result["whole_lines"]:
        problems.append(f"stdout ends in a half line: {result['stdout'][-120:]!r}")
    last = result["last"] or {}
    if "last_failure_type" in expect and last.get("trace", {}).get("error", {}).get("failure_type") != expect["last_failure_type"]:
        problems.append(f"the last message is {json.dumps(last)[:300]}, expected a TRACE ERROR {expect['last_failure_type']}")
    return problems


def main() -> int:
    global LAUNCHER
    if sys.argv[1:] == ["--launcher"]:
        return serve_launches()
    LAUNCHER = Launcher()
    try:
        return run_cases()
    finally:
        LAUNCHER.close()


def run_cases() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", default="rust,python,js")
    parser.add_argument("--case", default="", help="only cases whose name contains this")
    options = parser.parse_args()
    hosts = options.hosts.split(",")
    cases = [c for c in json.loads((Path(__file__).parent / "cases.json").read_text())["cases"]
             if options.case in c["name"]]
    wasm = str(standin.STIGG_WASM)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="stigg-conformance-") as tmp:
        for case in cases:
            results, problems = {}, []
            for host in hosts:
                work = Path(tmp) / host
                work.mkdir(exist_ok=True)
                try:
                    results[host] = run_case(case, host, wasm, work)
                except (OSError, subprocess.SubprocessError, RuntimeError, ValueError) as error:
                    problems.append(f"{host}: could not run: {error}")
                    continue
                problems += [f"{host}: {p}" for p in expectation_failures(case, results[host])]
            reference = hosts[0]
            for host in hosts[1:]:
                if reference not in results or host not in results:
                    continue
                mine, theirs = results[reference], results[host]
                if case.get("compare", "messages") == "messages":
                    for name in sorted(set(mine["by_stream"]) | set(theirs["by_stream"])):
                        a, b = mine["by_stream"].get(name, []), theirs["by_stream"].get(name, [])
                        if a != b:
                            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                            problems.append(
                                f"{host} differs from {reference} in {name or 'messages'!r} at message {first}: "
                                f"{json.dumps(b[first] if first < len(b) else None)[:400]} vs "
                                f"{json.dumps(a[first] if first < len(a) else None)[:400]}")
            verdict = "ok" if not problems else "FAILED"
            figures = ", ".join(f"{h} {r['seconds']:.1f} s {r['rss_mib']:.0f} MiB"
                                + (f" (+{r['rss_growth_mib']:.0f})" if "rss_growth_mib" in r else "")
                                for h, r in results.items())
            print(f"{verdict:6} {case['name']}  ({figures})", flush=True)
            for problem in problems:
                print(f"         {problem}", flush=True)
            failed += bool(problems)
    print(f"conformance ({', '.join(hosts)}): {len(cases) - failed} passed, {failed} failed", flush=True)
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
