"""HTTP servers the hosts' tests share: canned answers for the `http` import's
rules, a proxy to the stand-in that counts requests in flight, and a hostile
server for the hosts' deadlines and caps."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import urllib.error
import urllib.request


class CannedServer(http.server.ThreadingHTTPServer):
    """On 127.0.0.1, HTTP/1.1 (connections kept alive): /redirect answers 302,
    /slow answers after 2 s, /binary a body that is not UTF-8, /hold/<x> holds
    0.2 s (counting requests in flight in `max_in_flight`), /then-close closes
    the connection after its answer without saying so (as a server closing an
    idle connection), anything else 1 KiB of text. `hits` counts requests,
    `connections` connections."""

    def __init__(self) -> None:
        self.lock, self.hits, self.in_flight, self.max_in_flight = threading.Lock(), 0, 0, 0
        self.connections = 0
        super().__init__(("127.0.0.1", 0), _Canned)
        self.origin = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Canned(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_GET(self) -> None:  # noqa: N802
        self.answer()

    def do_POST(self) -> None:  # noqa: N802
        self.answer()

    def answer(self) -> None:
        server = self.server
        with server.lock:
            server.hits += 1
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://example.com/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/slow":
            time.sleep(2)
        body = b"ok \xff\xfe" if self.path == "/binary" else b"x" * 1024
        if self.path.startswith("/hold/"):
            with server.lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            time.sleep(0.2)
            with server.lock:
                server.in_flight -= 1
            body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:  # /slow: the client timed out and went away
            pass
        if self.path == "/then-close":
            self.close_connection = True

    def log_message(self, *args) -> None:
        pass


class CountingProxy(http.server.ThreadingHTTPServer):
    """Forwards POST /graphql to the stand-in at `target` after 30 ms, counting
    requests in flight (`max_in_flight`); `url` is its own GraphQL URL."""

    def __init__(self, target: str) -> None:
        self.target, self.lock, self.in_flight, self.max_in_flight = target, threading.Lock(), 0, 0
        super().__init__(("127.0.0.1", 0), _Forward)
        threading.Thread(target=self.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server_address[1]}/graphql"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Forward(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        proxy = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with proxy.lock:
            proxy.in_flight += 1
            proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
        try:
            time.sleep(0.03)
            forwarded = urllib.request.Request(proxy.target, data=body, method="POST", headers={
                k: v for k, v in self.headers.items() if k.lower() in ("content-type", "x-api-key")})
            try:
                with urllib.request.urlopen(forwarded, timeout=30) as reply:
                    status, data = reply.status, reply.read()
            except urllib.error.HTTPError as error:
                status, data = error.code, error.read()
        finally:
            with proxy.lock:
                proxy.in_flight -= 1
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


class HostileServer:
    """A server that misbehaves as `mode` says, on 127.0.0.1, for the hosts'
    limits; `url` is its GraphQL URL, `requests` counts requests read.

    endless-empty    every page: no rows, hasNextPage, a new endCursor
    trickle-status   the status line, a byte every 0.5 s, never ending
    trickle-headers  a status line, then headers a byte every 0.5 s
    trickle-body     headers announcing 1 MB, then a byte every 0.5 s
    endless-chunked  chunked, a 16-byte chunk every 0.2 s, never ending
    bad-chunk-size   chunked, with a chunk size of -5
    huge-body        chunked, 200 MiB as fast as the client reads
    """

    MODES = ("endless-empty", "trickle-status", "trickle-headers", "trickle-body",
             "endless-chunked", "bad-chunk-size", "huge-body")

    def __init__(self, mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode, self.requests, self.lock = mode, 0, threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/graphql"
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            reader = connection.makefile("rb")
            try:
                while self._read_request(reader) is not None:
                    with self.lock:
                        self.requests += 1
                        n = self.requests
                    if not self._answer(connection, n):
                        return
            except OSError:  # the client gave up: what these modes wait for
                return

    @staticmethod
    def _read_request(reader) -> bytes | None:
        length = 0
        line = reader.readline()
        if not line:
            return None
        while line not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            line = reader.readline()
        return reader.read(length)

    def _trickle(self, connection: socket.socket, data: bytes, pause: float) -> None:
        for byte in data:
            if self.closed.wait(pause):
                return
            connection.sendall(bytes([byte]))

    def _answer(self, connection: socket.socket, n: int) -> bool:
        """Answers one request; False when the connection is done."""
        mode = self.mode
        if mode == "endless-empty":
            page = {"edges": [], "pageInfo": {"hasNextPage": True, "endCursor": f"cursor-{n}"}, "totalCount": 5}
            roots = ("customers", "subscriptions", "plans", "addons", "features", "products", "coupons")
            body = json.dumps({"data": {root: page for root in roots}}).encode()
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            return True
        if mode == "trickle-status":
            self._trickle(connection, b"HTTP/1.1 200 OK\r\n" * 100, 0.5)
        elif mode == "trickle-headers":
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            self._trickle(connection, b"X-Slow: " + b"x" * 10_000, 0.5)
        elif mode == "trickle-body":
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            self._trickle(connection, b"x" * 1_000_000, 0.5)
        elif mode == "endless-chunked":
            connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while not self.closed.wait(0.2):
                connection.sendall(b"10\r\n" + b"x" * 16 + b"\r\n")
        elif mode == "bad-chunk-size":
            connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nxxxxx\r\n0\r\n\r\n")
        elif mode == "huge-body":
            connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"100000\r\n" + b"x" * (1 << 20) + b"\r\n"
            for _ in range(200):
                connection.sendall(chunk)
            connection.sendall(b"0\r\n\r\n")
        return False
