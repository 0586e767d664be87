"""A local HTTP JSON price endpoint on 127.0.0.1 (an ephemeral port), serving whatever payload
the test sets — the stand-in for a real price API in keeper tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class PriceServer:
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
                self.send_response(server.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/price"

    def __enter__(self) -> PriceServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
