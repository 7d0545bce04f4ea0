#!/usr/bin/env python3
"""Runs stigg.wasm, the Stigg Airbyte source component, from Python.

A second host for the same component that the Rust `host` runs: it uses the
`wasmtime` PyPI package's component model support and implements the two
interfaces the component imports (wit/connector.wit):

* ``airbyte:connector/http`` with http.client (synchronous, connections kept
  alive), under the same rules as the Rust host: a request goes out only if
  its origin (scheme://host:port) is on the allow-list (what the component's
  ``allowed-origins`` declares for the config, or the operator's
  ``--allow-host`` list, plus any ``--also-allow``); no ``user:password@``, no
  ``Host`` header, header names and values HTTP can carry, only http and
  https, redirects never followed; one deadline per request from connecting to
  the last body byte, and a body size cap. The network policy is the same too:
  only public addresses, checked on each address a name resolves to right
  before connecting, and https for anything but loopback, unless the operator
  passes ``--allow-private-network`` or ``--allow-plain-http``;
* ``airbyte:connector/sink`` by writing each batch of messages whole to stdout.

Reporting a problem, as in the Rust host: ``--record DIR`` writes every HTTP
exchange, and the config, catalog and state, into DIR with the config's
secrets masked in every form; ``--replay DIR`` answers every request from such
a recording, with no network; ``--debug`` writes a DEBUG LOG per exchange.

The component runs under a memory limit (``--max-memory-mib``) and a CPU
deadline per call (``--cpu-deadline-secs``). SIGTERM and SIGINT stop it
cleanly: the batch being written is finished, a TRACE ERROR follows.

Usage (the Airbyte CLI after the component's path; every flag may also come
before the component path or after the command, as ``--name value`` or
``--name=value``; ``--help`` lists them):

    python stigg_host.py STIGG_WASM spec
    python stigg_host.py STIGG_WASM check    --config config.json
    python stigg_host.py STIGG_WASM discover --config config.json
    python stigg_host.py STIGG_WASM read     --config config.json --catalog catalog.json [--state state.json] [--concurrency N]
    python stigg_host.py --allow-private-network STIGG_WASM check --config local.json   (a local test server)
    python stigg_host.py STIGG_WASM read --config DIR/config.json --catalog DIR/catalog.json --replay DIR

Exit status as ``host run``: 0 when the command ran to the end (a check that
reports FAILED included), 1 when it failed (a TRACE ERROR on stdout says why),
2 for usage errors, 128+N when stopped by signal N.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import wasmtime
from wasmtime import component as wc

PACKAGE = "airbyte:connector"
# The version of wit/connector.wit this host implements; it runs components
# of the same minor version (0.x minors break).
VERSION = "0.5.0"
HTTP_IMPORT = f"{PACKAGE}/http@{VERSION}"
SINK_IMPORT = f"{PACKAGE}/sink@{VERSION}"
SOURCE_EXPORT = f"{PACKAGE}/source@{VERSION}"

MIB = 1024 * 1024
DEFAULT_TIMEOUT_SECS = 30
DEFAULT_MAX_RESPONSE_BYTES = 64 * MIB
DEFAULT_MAX_MEMORY_MIB = 256
MAX_MEMORY_MIB = 4096
DEFAULT_CPU_DEADLINE_SECS = 300
DEFAULT_CONCURRENCY = 2  # as the Rust host: requests of one send-all batch in flight
MAX_CONCURRENCY = 16
MAX_INPUT_BYTES = 64 * MIB  # --config, --catalog, --state
BODY_PIECE = MIB  # a response body is read in pieces of at most this
MAX_WAIT = 1e9  # seconds: longer waits are clamped (a socket or lock timeout has a maximum)
STOP_GRACE_SECS = 5  # on a signal: how long a slow stdout reader gets to take the batch being written
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




# RFC 9110: a header name is a token; a value holds HTAB, SP and visible ASCII.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")


def check_headers(headers) -> list[tuple[str, str]]:
    """The request's headers if HTTP can carry them; Denied otherwise, naming
    the header but never quoting its value (it may be the API key)."""
    checked = []
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            shown = name.encode("unicode_escape").decode("ascii").replace("`", "\\x60")
            raise Denied(f"the name of header `{shown}` is not an HTTP token")
        if name.lower() == "host":
            raise Denied("a `host` header is not allowed")
        if not _FIELD_VALUE.fullmatch(value):
            raise Denied(f"the value of header `{name}` holds a character an HTTP header cannot carry")
        checked.append((name, value))
    return checked


class _DeadlineMixin:
    """A socket whose every send and receive ends by ``deadline`` (a
    ``time.monotonic()`` value; None: the timeout already set): each one waits
    at most the time left, so the whole exchange, however slowly the server
    trickles it, ends by the deadline with a TimeoutError."""

    deadline: Optional[float] = None

    def _arm(self) -> None:
        if self.deadline is None:
            return
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's deadline passed")
        self.settimeout(min(left, MAX_WAIT))

    def recv_into(self, *args):
        self._arm()
        return super().recv_into(*args)

    def recv(self, *args):
        self._arm()
        return super().recv(*args)

    def send(self, *args):
        self._arm()
        return super().send(*args)

    def sendall(self, *args):  # one timeout for the whole call (plain sockets; TLS arms each send)
        self._arm()
        return super().sendall(*args)


class _DeadlineSocket(_DeadlineMixin, socket.socket):
    pass


class _DeadlineSSLSocket(_DeadlineMixin, ssl.SSLSocket):
    pass


def _tls_context() -> ssl.SSLContext:
    """What http.client would use, making _DeadlineSSLSocket sockets."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    context.sslsocket_class = _DeadlineSSLSocket
    return context


def _connect(policy: NetworkPolicy, scheme: str, deadline: float, address) -> socket.socket:
    """``socket.create_connection`` that connects only to addresses the policy
    permits (the check is on the address actually connected to), by the
    request's deadline. The socket it returns keeps that timeout (the TLS
    handshake that may follow is one timed operation)."""
    host, port = address
    refusals, last_error = [], None
    for family, kind, proto, _, sockaddr in _resolve(host, port, deadline):
        reason = policy.refusal(scheme, ipaddress.ip_address(sockaddr[0].split("%")[0]))
        if reason:
            refusals.append(reason)
            continue
        sock = _DeadlineSocket(family, kind, proto)
        try:
            sock.deadline = deadline
            sock._arm()
            sock.connect(sockaddr)
            sock._arm()
            return sock
        except OSError as error:
            sock.close()
            last_error = error
    if last_error is not None:
        raise last_error
    raise Denied("refused by the network policy: " + "; ".join(refusals))


def _resolve(host: str, port: int, deadline: float) -> list:
    """``socket.getaddrinfo`` by the request's deadline. Python's takes no
    timeout, so it runs in a thread of its own, left behind (a daemon, which
    does not hold up exit) if the name server outlives the request."""
    done, answer = threading.Event(), {}

    def lookup() -> None:
        try:
            answer["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except Exception as error:  # noqa: BLE001 - raised again in the caller's thread
            answer["error"] = error
        done.set()

    threading.Thread(target=lookup, name="resolve", daemon=True).start()
    if not done.wait(min(max(deadline - time.monotonic(), 0), MAX_WAIT)):
        raise TimeoutError(f"no address for {host} by the request's deadline")
    if "error" in answer:
        raise answer["error"]
    return answer["addresses"]


class _Guarded:
    """What both connection kinds add to http.client's: the policy check when
    connecting and the request's deadline on the socket."""

    scheme = "http"
    deadline = float("inf")

    def __init__(self, *args, policy: NetworkPolicy, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy
        self._create_connection = self._open

    def _open(self, address, _timeout=None, _source_address=None) -> socket.socket:
        return _connect(self.policy, self.scheme, self.deadline, address)

    def connect(self) -> None:
        super().connect()
        self.sock.deadline = self.deadline

    def start(self, deadline: float) -> None:
        """The deadline of the request about to go out on this connection."""
        self.deadline = deadline
        if self.sock is not None:
            self.sock.deadline = deadline


class _GuardedHTTPConnection(_Guarded, http.client.HTTPConnection):
    scheme = "http"


class _GuardedHTTPSConnection(_Guarded, http.client.HTTPSConnection):
    scheme = "https"


class _Connections:
    """Kept-alive connections by origin, shared by the sending threads: a
    request takes an idle one or opens one, and gives it back once its
    response is read in full."""

    def __init__(self, policy: NetworkPolicy, timeout: float) -> None:
        self.policy = policy
        self.timeout = timeout
        self.idle: dict[str, list[http.client.HTTPConnection]] = {}
        self.lock = threading.Lock()
        self.tls: Optional[ssl.SSLContext] = None

    def take(self, origin: str, parts: urllib.parse.SplitResult) -> tuple[_Guarded, bool]:
        """A connection to ``origin``, and whether it was used before."""
        with self.lock:
            idle = self.idle.get(origin)
            if idle:
                return idle.pop(), True
            if parts.scheme.lower() == "https" and self.tls is None:
                self.tls = _tls_context()
        # The port always given: http.client would read an IPv6 literal's last group as one.
        port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
        if parts.scheme.lower() == "https":
            return _GuardedHTTPSConnection(parts.hostname, port, context=self.tls, policy=self.policy), False
        return _GuardedHTTPConnection(parts.hostname, port, policy=self.policy), False

    def give(self, origin: str, connection: http.client.HTTPConnection) -> None:
        with self.lock:
            self.idle.setdefault(origin, []).append(connection)


class TooLarge(Exception):
    """A response body over the cap."""


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
        self.transport: Callable[[object], object] = self.network

    def send(self, _store, request) -> object:
        """``send: func(request) -> result<response, error>``. A returned
        ``Record`` is ``ok``; a ``Variant`` is ``err``. Never raises. What the
        allow-list passes goes to ``transport``: the network, or what
        --record, --replay and --debug put in its place (refused requests
        are neither recorded, replayed nor logged)."""
        try:
            origin = origin_of(request.url)
            if origin not in self.allowed:
                raise Denied(f"origin {origin} is not on the allow-list")
            check_headers(request.headers)
        except Denied as error:
            return wc.Variant("denied", str(error))
        return self.transport(request)

    def network(self, request) -> object:
        """The default transport: one allow-listed request over the network,
        under the network policy. Never raises."""
        deadline = time.monotonic() + min(self.timeout, MAX_WAIT)
        origin = "the server"
        try:
            origin = origin_of(request.url)
            return self._send(origin, request, deadline)
        except Denied as error:  # the network policy
            return wc.Variant("denied", str(error))
        except TooLarge:
            return wc.Variant("too-large", self.max_bytes)
        except Exception as error:  # noqa: BLE001 - any failure of the HTTP stack is the component's to see
            if isinstance(error, TimeoutError) or time.monotonic() >= deadline:
                return wc.Variant("timeout", f"{origin}: no complete response within the request timeout "
                                             f"of {self.timeout:g} s (--timeout-secs)")
            return wc.Variant("transport", f"{origin}: {describe(error)}")

    def send_all(self, store, requests) -> list:
        """``send-all: func(requests: list<request>) -> list<result<response, error>>``:
        one result per request, in order."""
        if self.concurrency <= 1 or len(requests) <= 1:
            return [self.send(store, request) for request in requests]
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="http")
        return list(self.pool.map(lambda request: self.send(store, request), requests))

    def _send(self, origin: str, request, deadline: float) -> object:
        headers = list(request.headers)  # checked by send
        method = request.method.upper()  # the WIT enum arrives as "get" / "post"
        body = request.body.encode() if method == "POST" else None
        parts = urllib.parse.urlsplit(request.url)
        # As a URL parser would: non-ASCII, spaces and controls percent-encoded.
        target = urllib.parse.quote(parts.path or "/", safe="!$%&'()*+,/:;=@~[]")
        if parts.query:
            target += "?" + urllib.parse.quote(parts.query, safe="!$%&'()*+,/:;=?@~[]")
        status, response_headers, data = self._exchange(origin, parts, method, target, body, headers, deadline)
        try:
            text = data.decode("utf-8")  # `string` crosses into the component in one copy
        except UnicodeDecodeError as error:
            return wc.Variant("not-utf8", f"{origin}: HTTP {status}, invalid byte at offset {error.start}")
        response = wc.Record()
        response.status = status
        response.headers = response_headers
        response.body = text
        return response

    def _exchange(self, origin, parts, method, target, body, headers, deadline):
        """One request and its response, on a kept-alive connection; once more
        on a new one if a kept-alive one turns out closed by the server before
        it answered."""
        while True:
            connection, reused = self.connections.take(origin, parts)
            connection.start(deadline)
            try:
                connection.request(method, target, body=body, headers=dict(headers))
                reply = connection.getresponse()
                data = self._read_body(reply)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                if reused and time.monotonic() < deadline:
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

    def _read_body(self, reply: http.client.HTTPResponse) -> bytes:
        """The body, read in pieces of at most BODY_PIECE (http.client would
        read a declared chunk whole) and joined once at its end: a refused
        body never holds more than the cap and a piece, whatever the
        allocator does (a buffer regrown as it fills can hold its old copy
        too)."""
        if reply.length is not None and reply.length > self.max_bytes:
            raise TooLarge()
        pieces, size = [], 0
        while piece := reply.read(min(BODY_PIECE, self.max_bytes + 1 - size)):
            pieces.append(piece)
            size += len(piece)
            if size > self.max_bytes:
                raise TooLarge()
        return b"".join(pieces)


def describe(error: BaseException) -> str:
    """An exception of the HTTP stack as one line: a socket error's text,
    another's type and text (``BadStatusLine: ...``, ``ValueError: ...`` for a
    bad chunk size)."""
    text = (str(error).strip().splitlines() or [""])[0]
    if isinstance(error, OSError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# Reporting a problem (--record, --replay, --debug), as the Rust host's
# host/src/recording.rs and transport.rs: transports that wrap
# HttpCapability.network under the allow-list. A transport takes a WIT
# request and returns a response Record or an error Variant.

MASK = "<secret>"  # what stands in a recording where a secret was
EXCHANGES = "exchanges.jsonl"
_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def forms_of(key: str) -> list[str]:
    """Every form of ``key`` a text may hold it in (connector-io/src/secret.rs):
    as typed, JSON-escaped once or twice, percent-encoded, base64 inside a
    longer token."""
    forms = [key]
    for once in _json_escapes(key):
        forms.extend(_json_escapes(once))
        forms.append(once)
    forms.extend(_percent_encodings(key))
    forms.extend(_base64_cores(key.encode()))
    return forms


def _json_escapes(text: str) -> list[str]:
    """The key inside a JSON string, as common encoders write it: non-ASCII
    raw or as ``\\u`` escapes (either hex case), ``/`` raw or as ``\\/``."""
    forms = [_json_escape(text, False, False), _json_escape(text, True, False), _json_escape(text, True, True)]
    return forms + [form.replace("/", "\\/") for form in forms]


def _json_escape(text: str, non_ascii_escaped: bool, upper: bool) -> str:
    out = []
    for c in text:
        if c in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[c])
        elif ord(c) < 0x20 or (non_ascii_escaped and not c.isascii()):
            units = c.encode("utf-16-be")
            for i in range(0, len(units), 2):
                unit = int.from_bytes(units[i:i + 2], "big")
                out.append(f"\\u{unit:04X}" if upper else f"\\u{unit:04x}")
        else:
            out.append(c)
    return "".join(out)


def _percent_encodings(key: str) -> list[str]:
    """Every byte but RFC 3986's unreserved ones as ``%XX`` (either hex
    case), and the form encoding (space as ``+``)."""
    def encode(upper: bool, plus: bool) -> str:
        return "".join(chr(b) if b in _UNRESERVED else "+" if b == 0x20 and plus
                       else f"%{b:02X}" if upper else f"%{b:02x}" for b in key.encode())
    return [encode(True, False), encode(False, False), encode(True, True), encode(False, True)]


def _base64_cores(key: bytes) -> list[str]:
    """The part of the key's base64 (standard and URL-safe) that does not
    depend on its neighbours, at each of the three alignments it can have
    inside a longer encoded text: whole 3-byte groups of key bytes only."""
    forms = []
    for skip in range(min(3, len(key))):
        whole = (len(key) - skip) // 3 * 3
        if whole:
            standard = base64.b64encode(key[skip:skip + whole]).decode("ascii")
            forms += [standard.replace("+", "-").replace("/", "_"), standard]
    return forms


class Secrets:
    """The secret values of a config, and all their forms, longest first."""

    def __init__(self, values: list[str]) -> None:
        self.values = values
        forms = {form for value in values for form in forms_of(value)}
        self.forms = sorted(forms, key=lambda form: (-len(form.encode()), form))

    @classmethod
    def of(cls, config, spec) -> Secrets:
        """The non-empty string values of ``config``'s top-level properties
        that ``spec`` (a ``connectionSpecification``) marks ``airbyte_secret``."""
        properties = spec.get("properties") if isinstance(spec, dict) else None
        config = config if isinstance(config, dict) else {}
        return cls([config[name] for name, schema in (properties if isinstance(properties, dict) else {}).items()
                    if isinstance(schema, dict) and schema.get("airbyte_secret") is True
                    and isinstance(config.get(name), str) and config[name]])

    def mask(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, MASK)
        return text

    def masked_config(self, config):
        """The config with each secret value replaced by MASK."""
        if not isinstance(config, dict):
            return config
        return {name: MASK if isinstance(value, str) and value in self.values else value
                for name, value in config.items()}


def _compact(value, **options) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), **options)


class RecordingError(Exception):
    """A recording that cannot be started or read: the command does not run."""


def start_recording(directory: str, secrets: Secrets, config: Optional[str], catalog: Optional[str],
                    state: Optional[str]) -> str:
    """Writes the config (secrets masked), catalog and state into ``directory``
    and an empty list of exchanges; returns that list's path."""
    def write(name: str, text: str) -> None:
        with open(os.path.join(directory, name), "w", encoding="utf-8", newline="") as file:
            file.write(text)
    try:
        os.makedirs(directory, exist_ok=True)
        if config is not None:
            try:
                write("config.json", _compact(secrets.masked_config(json.loads(config))))
            except ValueError:  # not JSON: masked as text
                write("config.json", secrets.mask(config))
        for name, text in (("catalog.json", catalog), ("state.json", state)):
            if text is not None:
                write(name, secrets.mask(text))
        write(EXCHANGES, "")
    except OSError as error:
        raise RecordingError(f"cannot record into {directory}: {error.strerror or error}") from None
    return os.path.join(directory, EXCHANGES)


def error_text(error: wc.Variant) -> str:
    """An http error as the Rust host's ``HttpError`` displays it (``--debug``)."""
    if error.tag == "too-large":
        return f"response larger than the host's cap of {error.payload} bytes"
    prefix = {"denied": "request refused by the host", "timeout": "request timed out",
              "transport": "connection failed", "not-utf8": "response body is not UTF-8"}
    return f"{prefix.get(error.tag, error.tag)}: {error.payload}"


def exchange_of(request, answer) -> dict:
    """One line of a recording: the request, and the response or the error."""
    line: dict = {"request": {"method": request.method.upper(), "url": request.url,
                              "headers": [list(header) for header in request.headers], "body": request.body}}
    if not isinstance(answer, wc.Variant):
        line["response"] = {"status": answer.status, "headers": [list(header) for header in answer.headers],
                            "body": answer.body}
    elif answer.tag == "too-large":
        line["error"] = {"kind": "too-large", "cap": answer.payload, "message": ""}
    else:
        # The variant's payload, as the Rust host records it (its case says the rest).
        line["error"] = {"kind": answer.tag, "message": answer.payload}
    return line


class Recorder:
    """Sends through ``inner`` and appends each exchange, masked, to the
    recording (requests of a send-all batch may end at once: one lock)."""

    def __init__(self, inner: Callable, secrets: Secrets, path: str) -> None:
        self.inner = inner
        self.secrets = secrets
        self.path = path
        self.lock = threading.Lock()

    def __call__(self, request) -> object:
        answer = self.inner(request)
        line = self.secrets.mask(_compact(exchange_of(request, answer))) + "\n"
        with self.lock:  # opened per line: a run ended by a signal (os._exit) loses none
            try:
                with open(self.path, "a", encoding="utf-8", newline="") as file:
                    file.write(line)
            except OSError as error:  # a recording that cannot be written must not fail the sync it records
                print(f"stigg_host.py: could not record an exchange: {error}", file=sys.stderr, flush=True)
        return answer


@dataclass
class Recorded:
    """One exchange of a recording."""

    method: str
    url: str
    body: str
    answer: object  # a response Record or an error Variant


class Replayer:
    """Answers from a recording, with no network: each request by the first
    recorded exchange left with the same method, URL and body (streams read
    at once interleave their requests, so the order is kept per request)."""

    def __init__(self, left: list[Recorded]) -> None:
        self.left = left
        self.lock = threading.Lock()

    @classmethod
    def load(cls, directory: str) -> Replayer:
        path = os.path.join(directory, EXCHANGES)
        try:
            with open(path, encoding="utf-8", newline="") as file:
                text = file.read()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or error
            raise RecordingError(f"cannot read the recording {path}: {reason}") from None
        lines = text.split("\n")  # not splitlines: a JSON string may hold U+2028
        if lines[-1] == "":
            lines.pop()
        left = []
        for number, line in enumerate(lines, 1):
            recorded = recorded_of(line.removesuffix("\r"))
            if recorded is None:
                raise RecordingError(f"{path} line {number}: not a recorded exchange")
            left.append(recorded)
        return cls(left)

    def __call__(self, request) -> object:
        method = request.method.upper()
        with self.lock:
            for at, recorded in enumerate(self.left):
                if (recorded.method, recorded.url, recorded.body) == (method, request.url, request.body):
                    return self.left.pop(at).answer
            if self.left:
                following = self.left[0]
                following = (f"the next recorded request is {following.method} {following.url} "
                             f"with body {_excerpt(following.body)}")
            else:
                following = "every recorded request was answered"
        return wc.Variant("denied", f"replay: {method} {request.url} with body {_excerpt(request.body)} "
                                    f"was not recorded (or not that many times); {following}")


def _excerpt(body: str) -> str:
    return json.dumps(body[:300], ensure_ascii=False) + ("…" if len(body) > 300 else "")


def recorded_of(line: str) -> Optional[Recorded]:
    """A line of a recording, or None if it is not a recorded exchange."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("request"), dict):
        return None
    request, response, error = value["request"], value.get("response"), value.get("error")
    if isinstance(response, dict):
        answer = _replayed_response(response)
    elif isinstance(error, dict):
        answer = _replayed_error(error)
    else:
        return None
    method, url, body = request.get("method"), request.get("url"), request.get("body")
    if answer is None or method not in ("GET", "POST") or not isinstance(url, str) or not isinstance(body, str):
        return None
    return Recorded(method, url, body, answer)


def _replayed_response(response: dict) -> Optional[wc.Record]:
    status, headers, body = response.get("status"), response.get("headers"), response.get("body")
    pairs = isinstance(headers, list) and all(
        isinstance(h, list) and len(h) == 2 and all(isinstance(part, str) for part in h) for h in headers)
    if type(status) is not int or not 0 <= status <= 0xFFFF or not pairs or not isinstance(body, str):
        return None
    record = wc.Record()
    record.status, record.headers, record.body = status, [tuple(h) for h in headers], body
    return record


def _replayed_error(error: dict) -> Optional[wc.Variant]:
    kind, message = error.get("kind"), error.get("message")
    if not isinstance(kind, str) or not isinstance(message, str):
        return None
    if kind == "too-large":
        cap = error.get("cap")
        return wc.Variant("too-large", cap if type(cap) is int and 0 <= cap <= U64_MAX else 0)
    return wc.Variant(kind if kind in ("denied", "timeout", "not-utf8") else "transport", message)


class Debugging:
    """A DEBUG LOG for each exchange (--debug): the operation and its
    variables (the key travels in a header, which is not shown), then the
    status, the body's size and the time taken, or the error. A retried
    request shows once per attempt."""

    def __init__(self, inner: Callable, out: Output) -> None:
        self.inner = inner
        self.out = out

    def __call__(self, request) -> object:
        started = time.monotonic()
        answer = self.inner(request)
        took = int((time.monotonic() - started) * 1000)
        if isinstance(answer, wc.Variant):
            outcome = f"{error_text(answer)}, after {took} ms"
        else:
            outcome = f"HTTP {answer.status}, {len(answer.body.encode())} bytes, {took} ms"
        message = f"{request.method.upper()} {request.url}{operation(request.body)}: {outcome}"
        try:
            self.out.write(json.dumps({"type": "LOG", "log": {"level": "DEBUG", "message": message}}) + "\n")
        except OSError:  # best effort: a closed stdout fails the run's own next write
            pass
        return answer


def operation(body: str) -> str:
    """`` query Name variables {...}`` of a GraphQL body, or nothing."""
    try:
        value = json.loads(body)
    except ValueError:
        return ""
    value = value if isinstance(value, dict) else {}
    query = value.get("query")
    name = " ".join(re.split(r"[{(]", query, maxsplit=1)[0].split()) if isinstance(query, str) else ""
    # Keys sorted and compact, as serde_json writes them in the Rust host.
    return f" {name} variables {_compact(value.get('variables'), sort_keys=True)}"


class Output:
    """stdout (fd 1), written only under ``lock``, each piece whole: the signal
    watcher takes the lock to write its TRACE after the last whole batch."""

    def __init__(self, fd: int = 1) -> None:
        self.fd = fd
        self.lock = threading.Lock()

    def write(self, text: str) -> None:
        with self.lock:
            self.write_unlocked(text)

    def write_unlocked(self, text: str) -> None:
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(self.fd, data):]


class Sink:
    """``emit: func(lines: string)``: a batch of JSON messages, one per line,
    written to stdout whole (a batch ends where a runner may act)."""

    def __init__(self, out: Output) -> None:
        self.out = out

    def emit(self, _store, lines: str, _end) -> None:
        self.out.write(lines if lines.endswith("\n") else lines + "\n")


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


def memory_limit_message(mib: int) -> str:
    return f"the connector exceeded the memory limit of {mib} MiB (--max-memory-mib)"


def cpu_deadline_message(secs: int) -> str:
    return f"the connector exceeded the CPU deadline of {secs} s for one call (--cpu-deadline-secs)"


class CpuDeadline:
    """The CPU time one call into the component may use. A daemon thread
    watches the main thread's CPU clock (time spent waiting, for the network,
    for stdout or in a sleep, uses none) and bumps the engine's epoch once the
    call has used its budget: the store's epoch deadline (1) then traps the
    component at its next check. CPU time never runs ahead of wall time, so
    the thread sleeps the budget left and checks as rarely as that.

    Without a thread CPU clock (``time.pthread_getcpuclockid``), wall time
    spent outside the host's imports is counted instead (WASI sleeps then
    count)."""

    def __init__(self, engine: wasmtime.Engine, secs: int) -> None:
        self.engine = engine
        self.limit = float(min(secs, MAX_WAIT))
        self.exceeded = False
        self.started: Optional[float] = None  # the clock at the current call's start
        self.changed = threading.Condition()
        try:
            self.clock: Optional[int] = time.pthread_getcpuclockid(threading.main_thread().ident)
            time.clock_gettime(self.clock)
        except (AttributeError, OSError):
            self.clock = None
        self.outside = 0.0  # wall-time fallback: seconds spent in the host's imports
        self.entered: Optional[float] = None
        threading.Thread(target=self._watch, name="cpu-deadline", daemon=True).start()

    def now(self) -> float:
        if self.clock is not None:
            return time.clock_gettime(self.clock)
        return (self.entered or time.monotonic()) - self.outside

    def begin(self) -> None:
        with self.changed:
            self.exceeded = False
            self.started = self.now()
            self.changed.notify()

    def end(self) -> None:
        with self.changed:
            self.started = None
            self.changed.notify()

    def host_import(self, function: Callable) -> Callable:
        """``function`` as an import: its time is the host's (wall-time fallback only)."""
        if self.clock is not None:
            return function

        def timed(*args):
            self.entered = time.monotonic()
            try:
                return function(*args)
            finally:
                self.outside += time.monotonic() - self.entered
                self.entered = None
        return timed

    def _watch(self) -> None:
        with self.changed:
            while True:
                if self.started is None:
                    self.changed.wait()
                    continue
                left = self.limit - (self.now() - self.started)
                if left > 0:
                    self.changed.wait(min(left, MAX_WAIT))
                    continue
                self.exceeded = True
                self.started = None
                self.engine.increment_epoch()


class ComponentStderr:
    """The component's WASI stderr, forwarded to the host's; remembers whether
    a Rust allocation failure was reported (a memory.grow refused at the
    limit ends in ``memory allocation of N bytes failed`` and an abort)."""

    OOM = re.compile(rb"memory allocation of \d+ bytes failed")

    def __init__(self) -> None:
        self.tail = b""
        self.out_of_memory = False

    def reset(self) -> None:
        self.tail, self.out_of_memory = b"", False

    def write(self, data: bytes) -> None:
        self.tail = (self.tail + data)[-256:]
        if self.OOM.search(self.tail):
            self.out_of_memory = True
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(2, view):]
        except OSError:
            pass


class ComponentFailed(Exception):
    """The component could not be loaded, trapped or hit a limit; the message says which."""


@dataclass
class Limits:
    max_memory_mib: int = DEFAULT_MAX_MEMORY_MIB
    cpu_deadline_secs: int = DEFAULT_CPU_DEADLINE_SECS


class Connector:
    """stigg.wasm, compiled, linked to our imports and instantiated, under the limits."""

    def __init__(self, wasm_path: str, http: HttpCapability, sink: Sink, limits: Limits = Limits()) -> None:
        self.limits = limits
        config = wasmtime.Config()
        # wasmtime's own cache of compiled code (~/.cache/wasmtime, keyed by
        # the component, wasmtime's version and settings): a start loads
        # stigg.wasm in milliseconds instead of compiling it (0.6 s of CPU).
        config.cache = True
        config.epoch_interruption = True
        engine = wasmtime.Engine(config)
        self.cpu = CpuDeadline(engine, limits.cpu_deadline_secs)
        self.stderr = ComponentStderr()
        try:
            component = wc.Component.from_file(engine, wasm_path)
            kind = component.type
            check_contract([*kind.imports(engine), *kind.exports(engine)])
            linker = wc.Linker(engine)
            # Clocks, random numbers and stderr come from WASI 0.2; the store's
            # WASI context grants no files, environment, arguments or stdin.
            linker.add_wasip2()
            with linker.root() as root:
                with root.add_instance(HTTP_IMPORT) as http_instance:
                    http_instance.add_func("send", self.cpu.host_import(http.send))
                    http_instance.add_func("send-all", self.cpu.host_import(http.send_all))
                with root.add_instance(SINK_IMPORT) as sink_instance:
                    sink_instance.add_func("emit", self.cpu.host_import(sink.emit))
            self.store = wasmtime.Store(engine)
            # Per memory in wasmtime-py (a component with several memories could
            # use more in all); caps on the rest as the Rust host's.
            self.store.set_limits(memory_size=limits.max_memory_mib * MIB, table_elements=100_000,
                                  instances=100, tables=20, memories=10)
            wasi = wasmtime.WasiConfig()
            wasi.stderr_custom = self.stderr.write
            self.store.set_wasi(wasi)
            self.store.set_epoch_deadline(1)
            self.cpu.begin()  # instantiating runs the component's start code: under the deadline too
            try:
                self.instance = linker.instantiate(self.store, component)
            finally:
                self.cpu.end()
        except (OSError, wasmtime.WasmtimeError, RuntimeError) as error:  # a missing or foreign file
            if "exceeds memory limits" in str(error):
                raise ComponentFailed(memory_limit_message(limits.max_memory_mib)) from None
            raise ComponentFailed(f"the connector component could not be loaded: {error}") from None
        source = self.instance.get_export_index(self.store, SOURCE_EXPORT)
        if source is None:
            raise ComponentFailed(f"the connector component does not export {SOURCE_EXPORT}")
        self.source = source

    def call(self, name: str, *args):
        """Calls one export of ``source`` under the CPU deadline; returns the
        lifted result (for ``result<_, string>``: None is ok, a str is err).
        ComponentFailed if it trapped, naming the limit it ran into."""
        index = self.instance.get_export_index(self.store, name, self.source)
        func = self.instance.get_func(self.store, index) if index is not None else None
        if func is None:
            raise ComponentFailed(f"the connector component does not export {SOURCE_EXPORT}#{name}")
        self.stderr.reset()
        self.store.set_epoch_deadline(1)
        self.cpu.begin()
        try:
            result = func(self.store, *args)
            func.post_return(self.store)
        except wasmtime.WasmtimeError as error:
            if self.cpu.exceeded:
                raise ComponentFailed(cpu_deadline_message(self.limits.cpu_deadline_secs)) from None
            if self.stderr.out_of_memory:
                raise ComponentFailed(memory_limit_message(self.limits.max_memory_mib)) from None
            raise ComponentFailed(f"the connector component failed: {error}") from None
        finally:
            self.cpu.end()
        return result


class InputError(Exception):
    pass


def read_input(path: str, what: str) -> str:
    """An input file as text: strict UTF-8, at most MAX_INPUT_BYTES (checked
    before reading), read once. InputError says which file and why, never
    what is in it (the config holds a key)."""
    def refuse(reason: str) -> InputError:
        return InputError(f"Cannot read the {what} file {path}: {reason}")
    too_large = f"larger than the host's limit of {MAX_INPUT_BYTES // MIB} MiB for an input file"
    try:
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size > MAX_INPUT_BYTES:
                raise refuse(too_large)
            data = file.read(MAX_INPUT_BYTES + 1)  # a file that is not a regular one has no size
    except OSError as error:
        raise refuse(error.strerror or type(error).__name__) from None
    if len(data) > MAX_INPUT_BYTES:
        raise refuse(too_large)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise refuse(f"not UTF-8 text (invalid byte at offset {error.start})") from None


USAGE = "usage: stigg_host.py [FLAGS] COMPONENT {spec | check --config F | discover --config F | " \
        "read --config F --catalog F [--state F] [--concurrency N]}"

HELP = f"""{USAGE}

Runs an Airbyte source connector built as a WebAssembly component (world
airbyte:connector/connector) on wasmtime-py. Airbyte messages go to stdout, one
JSON object per line; the component's diagnostics go to stderr. Every flag may
come before the component path or after the command, as --name value or --name=value.

Network:
  --allow-host ORIGIN        allow only this origin (repeatable); the component's own list is not used
  --also-allow ORIGIN        also allow this origin (repeatable), added to the list in force
  --allow-private-network    let requests reach loopback, private, link-local and other non-public addresses
  --allow-plain-http         let requests use plain http to addresses other than loopback
Limits (a component that exceeds one is stopped with a TRACE ERROR naming it, exit 1):
  --timeout-secs S           one HTTP request, from connecting to the last body byte (default {DEFAULT_TIMEOUT_SECS})
  --max-response-bytes N     one HTTP response body (default {DEFAULT_MAX_RESPONSE_BYTES})
  --max-memory-mib MIB       linear memory of the component, 1..{MAX_MEMORY_MIB} (default {DEFAULT_MAX_MEMORY_MIB};
                             in this host each memory of the component, not their sum)
  --cpu-deadline-secs S      CPU time of one call into the component; waiting is not counted (default {DEFAULT_CPU_DEADLINE_SECS})
read:
  --concurrency N            HTTP requests of one send-all batch in flight, 1..{MAX_CONCURRENCY} (default {DEFAULT_CONCURRENCY})
Reporting a problem:
  --record DIR               record every HTTP exchange into DIR/{EXCHANGES}, and the config, catalog and
                             state beside it, with the config's secrets (what the spec marks airbyte_secret)
                             replaced by {MASK} in every form (as typed, JSON-escaped, percent-encoded, base64)
  --replay DIR               answer every HTTP request from the recording in DIR, with no network: the first
                             recorded exchange with the same method, URL and body; one that was not recorded
                             fails, naming the next recorded one (pass the recording's files:
                             read --config DIR/config.json --catalog DIR/catalog.json --replay DIR)
  --debug                    a DEBUG LOG for each HTTP exchange: the operation, its variables, the status, the
                             body's size and the time taken (headers, and so the key, are not shown)

Exit status: 0 when the command ran to the end (a check that reports FAILED included); 1 after a
TRACE ERROR; 2 for usage errors; 128+N when stopped by signal N (SIGTERM 143, SIGINT 130).
"""

COMMANDS = {"spec": (), "check": ("--config",), "discover": ("--config",),
            "read": ("--config", "--catalog", "--state", "--concurrency")}
REQUIRED = {"check": ("--config",), "discover": ("--config",), "read": ("--config", "--catalog")}
U64_MAX = 2 ** 64 - 1
# flag: (kind, bounds) -- kind "switch", "origin" (repeatable), "int", "path".
FLAGS = {
    "--allow-host": ("origin", None),
    "--also-allow": ("origin", None),
    "--allow-private-network": ("switch", None),
    "--allow-plain-http": ("switch", None),
    "--timeout-secs": ("int", (1, U64_MAX)),
    "--max-response-bytes": ("int", (0, U64_MAX)),
    "--max-memory-mib": ("int", (1, MAX_MEMORY_MIB)),
    "--cpu-deadline-secs": ("int", (1, U64_MAX)),
    "--concurrency": ("int", (1, MAX_CONCURRENCY)),
    "--config": ("path", None),
    "--catalog": ("path", None),
    "--state": ("path", None),
    "--record": ("path", None),
    "--replay": ("path", None),
    "--debug": ("switch", None),
}


class UsageError(Exception):
    pass


@dataclass
class Options:
    component: str = ""
    command: str = ""
    help: bool = False
    allow_host: list[str] = field(default_factory=list)
    also_allow: list[str] = field(default_factory=list)
    allow_private_network: bool = False
    allow_plain_http: bool = False
    timeout_secs: int = DEFAULT_TIMEOUT_SECS
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_memory_mib: int = DEFAULT_MAX_MEMORY_MIB
    cpu_deadline_secs: int = DEFAULT_CPU_DEADLINE_SECS
    concurrency: int = DEFAULT_CONCURRENCY
    config: Optional[str] = None
    catalog: Optional[str] = None
    state: Optional[str] = None
    record: Optional[str] = None
    replay: Optional[str] = None
    debug: bool = False


def parse_value(flag: str, kind: str, bounds, value: str):
    if kind == "origin":
        try:
            return origin_of(value, bare=True)
        except Denied as error:
            raise UsageError(f"{flag} {value}: {error}") from None
    if kind == "int":
        low, high = bounds
        if not re.fullmatch(r"[0-9]+", value) or not low <= int(value) <= high:
            within = f"from {low} to {high}" if high != U64_MAX else f"{low} or more"
            raise UsageError(f"{flag} takes a whole number {within}, not `{value}`")
        return int(value)
    return value


def parse_args(argv: list[str]) -> Options:
    """The command line; UsageError for anything it cannot be run as."""
    options, given, positional = Options(), set(), []
    args = iter(argv)
    for arg in args:
        if arg in ("-h", "--help"):
            options.help = True
            continue
        if not arg.startswith("--") or arg == "--":
            if arg != "--":
                positional.append(arg)
            continue
        flag, has_value, value = arg.partition("=")
        if flag not in FLAGS:
            raise UsageError(f"unknown flag {flag}")
        kind, bounds = FLAGS[flag]
        if kind == "switch":
            if has_value:
                raise UsageError(f"{flag} takes no value")
            setattr(options, flag[2:].replace("-", "_"), True)
            continue
        if not has_value:
            value = next(args, None)
            if value is None:
                raise UsageError(f"{flag} needs a value")
        if kind != "origin" and flag in given:
            raise UsageError(f"{flag} given twice")
        given.add(flag)
        parsed = parse_value(flag, kind, bounds, value)
        attribute = flag[2:].replace("-", "_")
        if kind == "origin":
            getattr(options, attribute).append(parsed)
        else:
            setattr(options, attribute, parsed)
    if options.help:
        return options
    if options.record is not None and options.replay is not None:
        raise UsageError("--record and --replay do not go together")
    if not positional:
        raise UsageError("the component path is missing")
    if len(positional) < 2 or positional[1] not in COMMANDS:
        raise UsageError(f"the command is missing or unknown (one of {', '.join(COMMANDS)})")
    if len(positional) > 2:
        raise UsageError(f"unexpected argument `{positional[2]}`")
    options.component, options.command = positional
    for flag in ("--config", "--catalog", "--state", "--concurrency"):
        if flag in given and flag not in COMMANDS[options.command]:
            raise UsageError(f"{flag} does not go with {options.command}")
    for flag in REQUIRED.get(options.command, ()):
        if flag not in given:
            raise UsageError(f"{options.command} needs {flag}")
    return options


def exchanges(options: Options, inputs: tuple, limits: Limits, out: Output, network: Callable) -> Callable:
    """The transport under the allow-list: the network, the network recorded
    (--record) or a recording (--replay); with --debug, each exchange logged.
    RecordingError if the recording cannot be started or read."""
    if options.replay is not None:
        transport = Replayer.load(options.replay)
    elif options.record is not None:
        secrets = secrets_of(options.component, limits, inputs[0])
        transport = Recorder(network, secrets, start_recording(options.record, secrets, *inputs))
    else:
        transport = network
    return Debugging(transport, out) if options.debug else transport


class Captured:
    """An Output that keeps what it is given."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)


def secrets_of(component: str, limits: Limits, config: Optional[str]) -> Secrets:
    """The config's secrets, as the component's spec marks them: spec runs
    in an instance of its own, its SPEC message kept rather than printed."""
    if config is None:  # spec: no config, no secret
        return Secrets([])
    captured = Captured()
    try:
        Connector(component, HttpCapability(1, 0), Sink(captured), limits).call("spec")
    except ComponentFailed:
        pass  # the command itself will say why; nothing is known to be secret
    spec = None
    for line in "".join(captured.parts).splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("type") == "SPEC" and isinstance(message.get("spec"), dict):
            spec = message["spec"].get("connectionSpecification")
            break
    try:
        values = json.loads(config)
    except ValueError:
        values = None
    return Secrets.of(values, spec)


def watch_signals(out: Output) -> None:
    """SIGTERM and SIGINT end the run as the spec says, from a watcher thread:
    the Python-level handlers do nothing (a KeyboardInterrupt raised inside
    a wasmtime callback would crash the process); the signal's number reaches
    the watcher through the wakeup fd, even while wasm runs."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    for signo in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signo, lambda *_: None)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(target=_stop_on_signal, args=(read_end, out), name="signals", daemon=True).start()


def _stop_on_signal(read_end: int, out: Output) -> None:
    """Waits for SIGTERM or SIGINT; then lets the batch being written finish
    (at most STOP_GRACE_SECS), writes the TRACE ERROR and ends the process."""
    signo = 0
    while signo not in (signal.SIGTERM, signal.SIGINT):
        signo = os.read(read_end, 1)[0]
    line = trace_error(f"the host was stopped by {signal.Signals(signo).name} before the command finished",
                       "transient_error") + "\n"
    until = time.monotonic() + STOP_GRACE_SECS
    if not out.lock.acquire(timeout=STOP_GRACE_SECS):
        line = "\n" + line  # the reader took nothing for that long: end the half-written line
    # Written from another thread: a reader that takes nothing cannot keep the process alive.
    writer = threading.Thread(target=_write_quietly, args=(out, line), daemon=True)
    writer.start()
    writer.join(max(1.0, until - time.monotonic()))
    os._exit(128 + signo)


def _write_quietly(out: Output, line: str) -> None:
    try:
        out.write_unlocked(line)
    except OSError:
        pass


def failed(out: Output, message: str, failure_type: str = "system_error") -> int:
    """Reports a failure as a TRACE ERROR (and on stderr): exit status 1."""
    print(f"stigg_host.py: {message.splitlines()[0] if message else message}", file=sys.stderr, flush=True)
    out.write(trace_error(message, failure_type) + "\n")
    return 1


def main(argv: list[str], out: Output) -> int:
    try:
        options = parse_args(argv)
    except UsageError as error:
        print(f"stigg_host.py: error: {error}\n{USAGE}\n(--help lists the flags)", file=sys.stderr)
        return 2
    if options.help:
        out.write(HELP)
        return 0
    command = options.command
    try:
        config = read_input(options.config, "config") if options.config is not None else None
        catalog = read_input(options.catalog, "catalog") if options.catalog is not None else None
        state = read_input(options.state, "state") if options.state is not None else None
    except InputError as error:
        if command == "check":  # as the Rust host: a FAILED status, not an error
            out.write(json.dumps({"type": "CONNECTION_STATUS",
                                  "connectionStatus": {"status": "FAILED", "message": str(error)}}) + "\n")
            return 0
        return failed(out, str(error), "config_error")

    policy = NetworkPolicy(allow_private=options.allow_private_network, allow_plain_http=options.allow_plain_http)
    concurrency = options.concurrency if command == "read" else 1
    http = HttpCapability(options.timeout_secs, options.max_response_bytes, concurrency, policy)
    limits = Limits(max_memory_mib=options.max_memory_mib, cpu_deadline_secs=options.cpu_deadline_secs)
    try:
        connector = Connector(options.component, http, Sink(out), limits)
        http.transport = exchanges(options, (config, catalog, state), limits, out, http.network)
        if config is not None:
            if options.allow_host:
                declared = options.allow_host
            else:
                # ok is a list of origins; err (a str: the config is unusable)
                # leaves the list empty, and the command itself reports why.
                declared = connector.call("allowed-origins", config)
                declared = declared if isinstance(declared, list) else []
            try:
                origins = {origin_of(o, bare=True) for o in declared}
            except Denied as error:
                raise ComponentFailed(f"the connector component declared an origin that is not one: {error}")
            http.allowed = origins | set(options.also_allow)
        if command == "spec":
            result = connector.call("spec")
        elif command in ("check", "discover"):
            result = connector.call(command, config)
        else:
            result = connector.call("read", config, catalog, state)
    except BrokenPipeError:
        return 1
    except (ComponentFailed, RecordingError) as error:
        return failed(out, str(error))
    # result<_, string>: None is ok; an err already emitted its TRACE ERROR.
    return 0 if result is None else 1


def run(argv: list[str]) -> int:
    """main, with signals handled and anything unexpected reported as a
    TRACE ERROR (and one line on stderr), never as a bare traceback."""
    out = Output()
    try:
        watch_signals(out)
        return main(argv, out)
    except BrokenPipeError:
        return 1
    except Exception as error:  # noqa: BLE001 - the host's own bug: still an Airbyte message
        try:
            return failed(out, f"the host failed unexpectedly: {type(error).__name__}: {error}")
        except OSError:
            return 1


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
