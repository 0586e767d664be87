"""Structured logs: one JSON object per line (or key=value for humans), with an `event` name
and flat fields, so that an operator can grep, count and alert on keeper behaviour."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

# What a log line must never carry: an RPC or API URL's secret. Hosted RPCs put the key in the
# path (Alchemy `/v2/<key>`, Infura `/v3/<key>`) or the query (`?apikey=`), or in userinfo.
_SECRETS = (
    (re.compile(r"(://)[^/@\s:]+:[^/@\s]+@"), r"\1***@"),
    (re.compile(r"(/v[0-9]+/)[A-Za-z0-9_\-]{16,}"), r"\1***"),
    (
        re.compile(r"([?&](?:api[_-]?key|key|token|access[_-]?token|secret)=)[^&\s'\"]+", re.I),
        r"\1***",
    ),
)


def redact(text: str) -> str:
    """`text` with any URL credentials, path keys and key-like query values masked."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        return json.dumps(out, default=str)


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        t = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields = " ".join(f"{k}={v}" for k, v in getattr(record, "fields", {}).items())
        return f"{t} {record.levelname:<7} {record.name}: {record.getMessage()} {fields}".rstrip()


def configure(json_lines: bool = True, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if json_lines else _PlainFormatter())
    root = logging.getLogger("synthequity")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log `name` with structured `fields` (string values `redact`ed: an error's text often
    quotes the RPC URL it failed on)."""
    clean = {k: redact(v) if isinstance(v, str) else v for k, v in fields.items()}
    logger.log(level, name, extra={"fields": clean})
