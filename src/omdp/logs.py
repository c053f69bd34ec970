"""Logging set-up for the entry points: plain text for people, JSON lines on request."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}
# uvicorn passes its message again with terminal colour codes as ``color_message``: for a
# terminal, not for a JSON line that a journal or a log shipper reads.
_LEFT_OUT = _STANDARD | {"color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the ``extra`` fields merged in."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update({k: v for k, v in record.__dict__.items() if k not in _LEFT_OUT})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def configure_logging(*, json_lines: bool = False, level: int = logging.INFO) -> None:
    """Configure the root logger once, for a process started from the command line."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO: an edge reading the registry every 30 s, or the API's
    # own calls, would fill the journal with them; they stay visible at DEBUG.
    logging.getLogger("httpx").setLevel(level if level <= logging.DEBUG else logging.WARNING)
