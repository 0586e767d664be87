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
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from synthequity.testing.http_source import LocalServer, send_body

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sources"

# The recorded week (tests/fixtures/sources/make_payloads.py writes the answers): TSLA around
# 2025-06-06, Pyth ids meant as Equity.US.TSLA/USD and Equity.US.AAPL/USD, Data Streams ids
# made up (the schema version in their first two bytes, as real ids have).
PYTH_TSLA = "0x16dad506d7db8da01c87581c87ca897a012a153557d4d578c3b9c9e1bc0632f1"
PYTH_AAPL = "0x49f6b65cb1de6b10eaf75e7c03ca029c306d0357e91b5311b175084a5ad55688"
DS_V8 = "0x0008" + "7e5a" + "00" * 28
DS_V10 = "0x000a" + "7e5a" + "00" * 28
FRI_1900 = 1_749_236_400  # 2025-06-06 19:00 UTC, Friday's session (13:30-20:00 UTC)
FRI_CLOSE = 1_749_240_000
MON_OPEN = 1_749_475_800  # 2025-06-09 13:30 UTC
MON_CLOSE = 1_749_499_200
SPLIT_AT = 1_749_513_600  # 2025-06-10 00:00 UTC: the 3:1 split the v10 reports schedule
TUE_OPEN = 1_749_562_200
# the credentials `PriceApis` checks when given them
PYTH_KEY = "pyth-key"
DS_KEY, DS_SECRET = "4f1c8a5e-0000-4000-8000-00000000c0de", "s3cr3t"


def recorded(name: str) -> Any:
    """A recorded answer from tests/fixtures/sources."""
    return json.loads((FIXTURES / name).read_text())


class PriceApis(LocalServer):
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
                limited = code == 429 and apis.retry_after is not None
                send_body(
                    self,
                    code,
                    body,
                    headers={"Retry-After": str(apis.retry_after)} if limited else None,
                )

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)

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
        return self.base_url
