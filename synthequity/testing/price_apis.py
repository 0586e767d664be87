"""Pyth Hermes and Chainlink Data Streams on 127.0.0.1: recorded answers served the way the
real APIs serve them, checking what the real APIs check (Hermes' `ids[]` and its bearer key,
Data Streams' HMAC signature and the freshness of its timestamp) — the stand-in for both in
the price-source and keeper tests.

    with PriceApis() as apis:
        apis.pyth = recorded("pyth_friday.json")
        apis.datastreams[FEED] = recorded("ds_v8_open.json")
        SourceConfig(pyth_url=apis.url, datastreams_url=apis.url, ...)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sources"


def recorded(name: str) -> Any:
    """A recorded answer from tests/fixtures/sources."""
    return json.loads((FIXTURES / name).read_text())


class PriceApis:
    """Both APIs on one ephemeral port. `fail_with` (status code) and `raw` (bytes) override
    the next answers; `retry_after` goes with a 429."""

    def __init__(self, pyth_key: str = "", ds_key: str = "", ds_secret: str = ""):
        self.pyth: Any = {"parsed": []}
        self.datastreams: dict[str, Any] = {}  # feed id (0x...) -> answer
        self.pyth_key, self.ds_key, self.ds_secret = pyth_key, ds_key, ds_secret
        self.fail_with: int | None = None
        self.retry_after: int | None = None
        self.raw: bytes | None = None
        self.json: Any = {}  # what `/price` answers (an `http:` source)
        self.hits: list[tuple[str, dict[str, list[str]]]] = []  # (path, query) per request
        self.headers_seen: list[dict[str, str]] = []
        self.peers: list[int] = []  # the client's port per request: one port, one connection
        apis = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                apis.hits.append((parts.path, query))
                apis.headers_seen.append(dict(self.headers.items()))
                apis.peers.append(self.client_address[1])
                code, body = apis._answer(parts.path, query, self.path, self.headers)
                self.send_response(code)
                if code == 429 and apis.retry_after is not None:
                    self.send_header("Retry-After", str(apis.retry_after))
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

    def _answer(
        self, path: str, query: dict[str, list[str]], raw_path: str, headers: Any
    ) -> tuple[int, bytes]:
        if self.fail_with is not None:
            return self.fail_with, json.dumps({"error": "recorded failure"}).encode()
        if path == "/v2/updates/price/latest":
            if self.pyth_key and headers.get("Authorization") != f"Bearer {self.pyth_key}":
                return 401, b'{"error": "unauthorized"}'
            ids = set(query.get("ids[]", []))
            payload = dict(self.pyth)
            if "parsed" in payload:  # the entries asked for, as Hermes answers
                payload["parsed"] = [e for e in payload["parsed"] if e["id"] in ids]
        elif path == "/api/v1/reports/latest":
            if not self._signed(raw_path, headers):
                return 401, b'{"error": "unauthorized"}'
            feed = query.get("feedID", [""])[0]
            if feed not in self.datastreams:
                return 404, b'{"error": "feed not found"}'
            payload = self.datastreams[feed]
        elif path == "/price":
            payload = self.json
        else:
            return 404, b"{}"
        return 200, self.raw if self.raw is not None else json.dumps(payload).encode()

    def _signed(self, raw_path: str, headers: Any) -> bool:
        """The Data Streams check: HMAC-SHA256(secret, "GET <path?query> <sha256(body)> <key>
        <ms>") in hex, a timestamp within 5 s of the server's clock."""
        key, ts = headers.get("Authorization", ""), headers.get("X-Authorization-Timestamp", "0")
        if key != self.ds_key or not ts.isdigit() or abs(int(ts) - time.time() * 1000) > 5_000:
            return False
        digest = hashlib.sha256(b"").hexdigest()
        message = f"GET {raw_path} {digest} {key} {ts}".encode()
        want = hmac.new(self.ds_secret.encode(), message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(want, headers.get("X-Authorization-Signature-SHA256", ""))

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> PriceApis:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
