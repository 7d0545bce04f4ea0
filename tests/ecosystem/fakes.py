"""HTTP servers the hosts' tests share: canned answers for the `http` import's
rules, and a proxy to the stand-in that counts requests in flight."""

from __future__ import annotations

import http.server
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
