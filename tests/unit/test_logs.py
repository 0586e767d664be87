"""Structured logs never carry an RPC or API key, whatever error text quotes the URL."""

from __future__ import annotations

import json
import logging

from synthequity import logs


def test_redact_masks_keys_in_paths_queries_and_userinfo():
    alchemy = "https://arb-sepolia.g.alchemy.com/v2/AbCdEf0123456789xyzKEY"
    assert logs.redact(alchemy) == "https://arb-sepolia.g.alchemy.com/v2/***"
    infura = "HTTPSConnectionPool(host='x'): /v3/0123456789abcdef0123456789abcdef (Caused by ...)"
    assert "0123456789abcdef0123456789abcdef" not in logs.redact(infura)
    assert logs.redact("https://h/x?apikey=s3cr3t&n=1") == "https://h/x?apikey=***&n=1"
    assert logs.redact("https://h/x?token=abc") == "https://h/x?token=***"
    assert logs.redact("https://user:pa55@rpc.example/") == "https://***@rpc.example/"
    # what is not a secret stays readable
    kept = "revert: perp: margin below keeper fee at http://127.0.0.1:8545 /v2/short"
    assert logs.redact(kept) == kept


def test_event_redacts_string_fields(capsys):
    root = logging.getLogger("synthequity")
    saved = (root.handlers[:], root.level, root.propagate)
    logs.configure(json_lines=True)  # onto the captured stderr
    log = logging.getLogger("synthequity.test")
    try:
        _log_an_error(log)
    finally:
        root.handlers[:], root.level, root.propagate = saved
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["error"] == "ConnectionError: https://eth.llamarpc.example/v2/*** down"
    assert line["attempt"] == 2


def _log_an_error(log: logging.Logger) -> None:
    logs.event(
        log,
        "rpc error, retrying",
        logging.WARNING,
        error="ConnectionError: https://eth.llamarpc.example/v2/ZZZZZZZZZZZZZZZZZZZZ down",
        attempt=2,
    )
