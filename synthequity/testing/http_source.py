"""Local HTTP servers on 127.0.0.1 (an ephemeral port) for tests: `LocalServer`, what every
stand-in for a remote API shares, and `PriceServer`, a JSON price endpoint serving whatever
payload the test sets — the stand-in for a real price API in keeper tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


def send_body(
    handler: BaseHTTPRequestHandler,
    code: int,
    body: bytes,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer `handler`'s request: status, content type, length, `headers`, then `body`."""
    handler.send_response(code)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


class LocalServer:
    """`handler` served on 127.0.0.1 at an ephemeral port (never a fixed one: the test lanes
    run in parallel) on a daemon thread, from `__enter__` to `__exit__`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class PriceServer(LocalServer):
    """`with PriceServer() as srv: srv.payload = {...}; url = srv.url`."""

    def __init__(self) -> None:
        self.payload: Any = {}
        self.status_code = 200
        self.raw: bytes | None = None  # send these bytes instead of JSON
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = server.raw if server.raw is not None else json.dumps(server.payload).encode()
                send_body(self, server.status_code, body)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"{self.base_url}/price"
