#!/usr/bin/env python3
"""Runs stigg.wasm, the Stigg Airbyte source component, from Python.

A second host for the same component that the Rust `host` runs: it uses the
`wasmtime` PyPI package's component model support and implements the two
interfaces the component imports (wit/connector.wit):

* ``airbyte:connector/http`` with http.client (synchronous, connections kept
  alive), under the same rule as
  the Rust host: a request goes out only if its origin (scheme://host:port) is
  on the allow-list that the component itself declares for the config
  (``allowed-origins``); no ``user:password@``, no ``Host`` header, only http
  and https, redirects never followed, a response size cap and a timeout;
  and under the same network policy: only public addresses, checked on each
  address a name resolves to right before connecting, and https for anything
  but loopback, unless the operator passes ``--allow-private-network`` or
  ``--allow-plain-http`` (before the component path or after the command);
* ``airbyte:connector/sink`` by printing each message on its own line.

Usage (the Airbyte CLI, after the component's path):

    python stigg_host.py STIGG_WASM spec
    python stigg_host.py STIGG_WASM check    --config config.json
    python stigg_host.py STIGG_WASM discover --config config.json
    python stigg_host.py STIGG_WASM read     --config config.json --catalog catalog.json [--state state.json] [--concurrency N]
    python stigg_host.py --allow-private-network STIGG_WASM check --config local.json   (a local test server)

Exit status as ``host run``: 0 when the command ran to the end (a check that
reports FAILED included), 1 when it failed (a TRACE ERROR on stdout says why),
2 for usage errors.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import ipaddress
import json
import socket
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional, Union

import wasmtime
from wasmtime import component as wc

PACKAGE = "airbyte:connector"
# The version of wit/connector.wit this host implements; it runs components
# of the same minor version (0.x minors break).
VERSION = "0.4.0"
HTTP_IMPORT = f"{PACKAGE}/http@{VERSION}"
SINK_IMPORT = f"{PACKAGE}/sink@{VERSION}"
SOURCE_EXPORT = f"{PACKAGE}/source@{VERSION}"

DEFAULT_TIMEOUT_SECS = 30
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
DEFAULT_CONCURRENCY = 2  # as the Rust host: requests of one send-all batch in flight
DEFAULT_PORTS = {"http": 80, "https": 443}


class Denied(Exception):
    """A request the allow-list refuses."""


def origin_of(url: str, *, bare: bool = False) -> str:
    """``scheme://host:port`` of a URL, normalised as the Rust host does:
    lower-case scheme and host, default port filled in. Raises Denied for
    anything that is not a plain http(s) URL without credentials."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Denied(f"not a valid URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise Denied(f"scheme `{parts.scheme}` is not allowed (only http and https)")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Denied("URLs with credentials (user:password@) are not allowed")
    host = (parts.hostname or "").lower()
    if not host:
        raise Denied("the URL has no host")
    if ":" in host:  # an IPv6 literal keeps its brackets, as in a URL
        host = f"[{host}]"
    if bare and (parts.path not in ("", "/") or parts.query or parts.fragment):
        raise Denied("an origin is only scheme://host[:port], without path, query or fragment")
    return f"{scheme}://{host}:{port if port is not None else DEFAULT_PORTS[scheme]}"


# Non-public ranges, as the Rust host names them (host/src/network_policy.rs).
_V4_RANGES = [(ipaddress.ip_network(net), name) for net, name in (
    ("0.0.0.0/8", 'in 0.0.0.0/8 (unspecified, "this network")'),
    ("10.0.0.0/8", "private (10.0.0.0/8, RFC 1918)"),
    ("100.64.0.0/10", "carrier-grade NAT (100.64.0.0/10)"),
    ("127.0.0.0/8", "loopback (127.0.0.0/8)"),
    ("169.254.0.0/16", "link-local (169.254.0.0/16, cloud metadata services)"),
    ("172.16.0.0/12", "private (172.16.0.0/12, RFC 1918)"),
    ("192.0.0.0/24", "reserved (192.0.0.0/24, IETF protocol assignments)"),
    ("192.0.2.0/24", "reserved (192.0.2.0/24, documentation)"),
    ("192.168.0.0/16", "private (192.168.0.0/16, RFC 1918)"),
    ("198.18.0.0/15", "reserved (198.18.0.0/15, benchmarking)"),
    ("198.51.100.0/24", "reserved (198.51.100.0/24, documentation)"),
    ("203.0.113.0/24", "reserved (203.0.113.0/24, documentation)"),
    ("224.0.0.0/4", "multicast (224.0.0.0/4)"),
    ("240.0.0.0/4", "reserved (240.0.0.0/4, broadcast included)"),
)]
_V6_RANGES = [(ipaddress.ip_network(net), name) for net, name in (
    ("::/128", "unspecified (::)"),
    ("::1/128", "loopback (::1)"),
    ("::/96", "reserved (::/96, IPv4-compatible)"),
    ("100::/64", "reserved (100::/64, discard)"),
    ("2001:db8::/32", "reserved (2001:db8::/32, documentation)"),
    ("2002::/16", "6to4 (2002::/16, may reach any IPv4 address)"),
    ("fc00::/7", "unique local (fc00::/7, RFC 4193)"),
    ("fe80::/10", "link-local (fe80::/10)"),
    ("fec0::/10", "site-local (fec0::/10, deprecated)"),
    ("ff00::/8", "multicast (ff00::/8)"),
)]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IpAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def _canonical(ip: IpAddress) -> IpAddress:
    """An IPv6 address carrying an IPv4 one (mapped, NAT64) is judged as that address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def special_range(ip: IpAddress) -> Optional[str]:
    """The non-public range ``ip`` is in, named; None for a public address."""
    ip = _canonical(ip)
    ranges = _V4_RANGES if isinstance(ip, ipaddress.IPv4Address) else _V6_RANGES
    return next((name for net, name in ranges if ip in net), None)


@dataclass(frozen=True)
class NetworkPolicy:
    """What the operator permits beyond public addresses over https."""

    allow_private: bool = False
    allow_plain_http: bool = False

    def refusal(self, scheme: str, ip: IpAddress) -> Optional[str]:
        """Why a connection to ``ip`` is refused, or None."""
        special = special_range(ip)
        if special and not self.allow_private:
            return (f"{ip} is {special}: the host's network policy refuses non-public addresses "
                    "unless the operator allows private networks")
        if scheme == "http" and not self.allow_plain_http and not _canonical(ip).is_loopback:
            return (f"plain http to {ip}: the host's network policy requires https for any address "
                    "but loopback unless the operator allows plain http")
        return None


def _connect(policy: NetworkPolicy, scheme: str, address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT,
             source_address=None) -> socket.socket:
    """``socket.create_connection`` that connects only to addresses the policy
    permits: the check is on the address actually connected to."""
    host, port = address
    refusals, last_error = [], None
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        reason = policy.refusal(scheme, ipaddress.ip_address(sockaddr[0].split("%")[0]))
        if reason:
            refusals.append(reason)
            continue
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as error:
            sock.close()
            last_error = error
    if last_error is not None:
        raise last_error
    raise Denied("refused by the network policy: " + "; ".join(refusals))


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, policy: NetworkPolicy, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = functools.partial(_connect, policy, "http")


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, policy: NetworkPolicy, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = functools.partial(_connect, policy, "https")


class _Connections:
    """Kept-alive connections by origin, shared by the sending threads: a
    request takes an idle one or opens one, and gives it back once its
    response is read in full."""

    def __init__(self, policy: NetworkPolicy, timeout: float) -> None:
        self.policy = policy
        self.timeout = timeout
        self.idle: dict[str, list[http.client.HTTPConnection]] = {}
        self.lock = threading.Lock()

    def take(self, origin: str, parts: urllib.parse.SplitResult) -> tuple[http.client.HTTPConnection, bool]:
        """A connection to ``origin``, and whether it was used before."""
        with self.lock:
            idle = self.idle.get(origin)
            if idle:
                return idle.pop(), True
        scheme = parts.scheme.lower()
        kind = _GuardedHTTPSConnection if scheme == "https" else _GuardedHTTPConnection
        # The port always given: http.client would read an IPv6 literal's last group as one.
        port = parts.port or DEFAULT_PORTS[scheme]
        return kind(parts.hostname, port, timeout=self.timeout, policy=self.policy), False

    def give(self, origin: str, connection: http.client.HTTPConnection) -> None:
        with self.lock:
            self.idle.setdefault(origin, []).append(connection)


class HttpCapability:
    """The component's only way out: allow-listed requests, at most
    ``concurrency`` of a ``send-all`` batch in flight."""

    def __init__(self, timeout: float, max_bytes: int, concurrency: int = 1,
                 policy: NetworkPolicy = NetworkPolicy()) -> None:
        self.allowed: set[str] = set()
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.concurrency = concurrency
        # http.client: no proxy from the environment (the origin checked is the
        # one connected to), no redirect followed (a 3xx goes back as is).
        self.connections = _Connections(policy, timeout)
        self.pool: Optional[ThreadPoolExecutor] = None

    def send(self, _store, request) -> object:
        """``send: func(request) -> result<response, error>``. A returned
        ``Record`` is ``ok``; a ``Variant`` is ``err``."""
        try:
            return self._send(request)
        except Denied as error:
            return wc.Variant("denied", str(error))

    def send_all(self, store, requests) -> list:
        """``send-all: func(requests: list<request>) -> list<result<response, error>>``:
        one result per request, in order."""
        if self.concurrency <= 1 or len(requests) <= 1:
            return [self.send(store, request) for request in requests]
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=self.concurrency)
        return list(self.pool.map(lambda request: self.send(store, request), requests))

    def _send(self, request) -> object:
        url = request.url
        origin = origin_of(url)
        if origin not in self.allowed:
            raise Denied(f"origin {origin} is not on the allow-list")
        headers = {}
        for name, value in request.headers:
            if name.lower() == "host":
                raise Denied("a `host` header is not allowed")
            headers[name] = value
        method = request.method.upper()  # the WIT enum arrives as "get" / "post"
        body = request.body.encode() if method == "POST" else None
        parts = urllib.parse.urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            status, response_headers, data = self._exchange(origin, parts, method, target, body, headers)
        except (socket.timeout, TimeoutError) as error:
            return wc.Variant("timeout", f"no answer from {origin} in {self.timeout}s: {error}")
        except (OSError, http.client.HTTPException) as error:  # refused, reset, bad status lines
            return wc.Variant("transport", f"{origin}: {error}")
        if len(data) > self.max_bytes:
            return wc.Variant("too-large", self.max_bytes)
        try:
            text = data.decode("utf-8")  # `string` crosses into the component in one copy
        except UnicodeDecodeError as error:
            return wc.Variant("not-utf8", f"{origin}: HTTP {status}, invalid byte at offset {error.start}")
        response = wc.Record()
        response.status = status
        response.headers = response_headers
        response.body = text
        return response

    def _exchange(self, origin, parts, method, target, body, headers):
        """One request and its response (at most the cap and a byte), on a
        kept-alive connection; once more on a new one if a kept-alive one
        turns out closed by the server before it answered."""
        while True:
            connection, reused = self.connections.take(origin, parts)
            try:
                connection.request(method, target, body=body, headers=headers)
                reply = connection.getresponse()
                data = reply.read(self.max_bytes + 1)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                if reused:
                    continue
                raise
            except BaseException:
                connection.close()
                raise
            if reply.isclosed() and not reply.will_close:  # read in full: reusable
                self.connections.give(origin, connection)
            else:
                connection.close()
            return reply.status, [(k.lower(), v) for k, v in reply.getheaders()], data


class Sink:
    """``emit: func(lines: string)``: a batch of JSON messages, one per line,
    written to stdout and flushed (a batch ends where a runner may act)."""

    def __init__(self, out) -> None:
        self.out = out

    def emit(self, _store, lines: str) -> None:
        self.out.write(lines if lines.endswith("\n") else lines + "\n")
        self.out.flush()


def trace_error(message: str, failure_type: str = "system_error") -> str:
    return json.dumps({
        "type": "TRACE",
        "trace": {
            "type": "ERROR",
            "emitted_at": int(time.time() * 1000),
            "error": {"message": message, "internal_message": message, "failure_type": failure_type},
        },
    })


def check_contract(names) -> None:
    """Refuses a component built for another minor version of the contract,
    with a message that says so (rather than a link error)."""
    major, minor = VERSION.split(".")[:2]
    for name in names:
        if not name.startswith(f"{PACKAGE}/"):
            continue
        version = name.partition("@")[2]
        if version.split(".")[:2] != [major, minor]:
            raise RuntimeError(
                f"the component was built for {PACKAGE}@{version or '(no version)'} (it uses {name}), "
                f"but this host runs {PACKAGE}@{major}.{minor}.x components")


class Connector:
    """stigg.wasm, compiled, linked to our imports and instantiated."""

    def __init__(self, wasm_path: str, http: HttpCapability, sink: Sink) -> None:
        config = wasmtime.Config()
        # wasmtime's own cache of compiled code (~/.cache/wasmtime, keyed by
        # the component, wasmtime's version and settings): a start loads
        # stigg.wasm in milliseconds instead of compiling it (0.6 s of CPU).
        config.cache = True
        engine = wasmtime.Engine(config)
        component = wc.Component.from_file(engine, wasm_path)
        kind = component.type
        check_contract([*kind.imports(engine), *kind.exports(engine)])
        linker = wc.Linker(engine)
        # Clocks, random numbers and stderr come from WASI 0.2; the store's
        # WASI context grants no files, environment, arguments or stdin.
        linker.add_wasip2()
        with linker.root() as root:
            with root.add_instance(HTTP_IMPORT) as http_instance:
                http_instance.add_func("send", http.send)
                http_instance.add_func("send-all", http.send_all)
            with root.add_instance(SINK_IMPORT) as sink_instance:
                sink_instance.add_func("emit", sink.emit)
        self.store = wasmtime.Store(engine)
        wasi = wasmtime.WasiConfig()
        wasi.inherit_stderr()
        self.store.set_wasi(wasi)
        self.instance = linker.instantiate(self.store, component)
        source = self.instance.get_export_index(self.store, SOURCE_EXPORT)
        if source is None:
            raise RuntimeError(f"the component does not export {SOURCE_EXPORT}")
        self.source = source

    def call(self, name: str, *args):
        """Calls one export of ``source``; returns the lifted result. For
        ``result<_, string>``: None is ok, a str is err."""
        index = self.instance.get_export_index(self.store, name, self.source)
        func = self.instance.get_func(self.store, index) if index is not None else None
        if func is None:
            raise RuntimeError(f"the component does not export {SOURCE_EXPORT}#{name}")
        result = func(self.store, *args)
        func.post_return(self.store)
        return result


def read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as error:
        # Say which file and why, never what is in it (the config holds a key).
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise InputError(f"Cannot read the {what} file {path}: {reason}") from None


class InputError(Exception):
    pass


POLICY_FLAGS = ("--allow-private-network", "--allow-plain-http")


def parse_args(argv: list[str]) -> argparse.Namespace:
    # The policy flags count wherever they are: before the component path (a
    # runner's command prefix) or after the command, as in the Rust host.
    given = {arg for arg in argv if arg in POLICY_FLAGS}
    argv = [arg for arg in argv if arg not in POLICY_FLAGS]
    parser = argparse.ArgumentParser(
        prog="stigg_host.py",
        description="Runs an Airbyte source component (world airbyte:connector/connector) on wasmtime-py.",
    )
    parser.add_argument("component", help="the connector component, e.g. target/wasm32-wasip2/component/stigg.wasm")
    parser.add_argument("--also-allow", action="append", default=[], metavar="ORIGIN",
                        help="also allow this origin (repeatable), added to the component's list")
    parser.add_argument("--allow-private-network", action="store_true",
                        help="let requests reach loopback, private, link-local and other non-public addresses")
    parser.add_argument("--allow-plain-http", action="store_true",
                        help="let requests use plain http to addresses other than loopback")
    parser.add_argument("--timeout-secs", type=float, default=DEFAULT_TIMEOUT_SECS)
    parser.add_argument("--max-response-bytes", type=int, default=DEFAULT_MAX_RESPONSE_BYTES)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("spec")
    for name in ("check", "discover"):
        commands.add_parser(name).add_argument("--config", required=True)
    read = commands.add_parser("read")
    read.add_argument("--config", required=True)
    read.add_argument("--catalog", required=True)
    read.add_argument("--state")
    read.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                      help="requests in flight at once (default %(default)s)")
    args = parser.parse_args(argv)
    args.allow_private_network = "--allow-private-network" in given
    args.allow_plain_http = "--allow-plain-http" in given
    return args


def failed(out, message: str) -> int:
    """Reports a failure of the host's own as a TRACE ERROR (and on stderr): exit status 1."""
    print(f"stigg_host.py: {message}", file=sys.stderr)
    out.write(trace_error(message) + "\n")
    out.flush()
    return 1


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    out = sys.stdout
    try:
        extra = [origin_of(o, bare=True) for o in args.also_allow]
    except Denied as error:
        print(f"stigg_host.py: --also-allow: {error}", file=sys.stderr)
        return 2
    try:
        config = read_text(args.config, "config") if args.command != "spec" else None
        catalog = read_text(args.catalog, "catalog") if args.command == "read" else None
        state = read_text(args.state, "state") if args.command == "read" and args.state else None
    except InputError as error:
        if args.command == "check":  # as the Rust host: a FAILED status, not an error
            out.write(json.dumps({"type": "CONNECTION_STATUS",
                                  "connectionStatus": {"status": "FAILED", "message": str(error)}}) + "\n")
            return 0
        out.write(trace_error(str(error), "config_error") + "\n")
        return 1

    if getattr(args, "concurrency", 1) < 1:
        print("stigg_host.py: --concurrency must be at least 1", file=sys.stderr)
        return 2
    policy = NetworkPolicy(allow_private=args.allow_private_network, allow_plain_http=args.allow_plain_http)
    http = HttpCapability(args.timeout_secs, args.max_response_bytes, getattr(args, "concurrency", 1), policy)
    try:
        connector = Connector(args.component, http, Sink(out))
    except (OSError, wasmtime.WasmtimeError, RuntimeError) as error:  # a missing or foreign file
        return failed(out, f"the connector component could not be loaded: {error}")
    try:
        if config is not None:
            declared = connector.call("allowed-origins", config)
            # ok is a list of origins; err (a str: the config is unusable)
            # leaves the list empty, and the command itself reports why.
            origins = declared if isinstance(declared, list) else []
            http.allowed = {origin_of(o, bare=True) for o in origins} | set(extra)
        if args.command == "spec":
            result = connector.call("spec")
        elif args.command == "check":
            result = connector.call("check", config)
        elif args.command == "discover":
            result = connector.call("discover", config)
        else:
            result = connector.call("read", config, catalog, state)
    except BrokenPipeError:
        return 1
    except (wasmtime.WasmtimeError, RuntimeError, Denied) as error:
        return failed(out, f"the connector component failed: {error}")
    out.flush()
    # result<_, string>: None is ok; an err already emitted its TRACE ERROR.
    return 0 if result is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
