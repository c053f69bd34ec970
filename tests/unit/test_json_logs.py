"""CM-3: ``--log-format json`` (OMDP_LOG_FORMAT=json, set by every systemd unit) gives one clean
JSON object per line, also for the lines of the web server the API runs in."""

from __future__ import annotations

import logging

import orjson

from omdp.logs import JsonFormatter, configure_logging


def _line(logger: str, message: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord(logger, logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    doc = orjson.loads(line)
    assert isinstance(doc, dict)
    return doc


def test_cm3_uvicorn_colour_codes_stay_out_of_json_lines() -> None:
    # uvicorn logs "Uvicorn running on ..." with extra={"color_message": "...\x1b[1m..."}
    doc = _line(
        "uvicorn.error",
        "Uvicorn running on %s://%s:%d",
        "https",
        "127.0.0.1",
        8080,
        color_message="Uvicorn running on \x1b[1m%s://%s:%d\x1b[0m",
    )
    assert doc["message"] == "Uvicorn running on https://127.0.0.1:8080"
    assert "color_message" not in doc
    assert "\x1b" not in orjson.dumps(doc).decode()


def test_cm3_extra_fields_are_kept() -> None:
    doc = _line("omdp.edge", "forwarded %d", 3, meter_id="m-1")
    assert doc["message"] == "forwarded 3"
    assert doc["meter_id"] == "m-1"
    assert {"time", "level", "logger"} <= doc.keys()


def test_cm3_httpx_request_lines_only_at_debug() -> None:
    # an edge reads the cloud's registry every 30 s: two INFO lines each time, for ever
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("httpx").level
    try:
        configure_logging(json_lines=True, level=logging.INFO)
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
        assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
        assert logging.getLogger("omdp.edge").isEnabledFor(logging.INFO)
        configure_logging(json_lines=True, level=logging.DEBUG)
        assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:], level, httpx_level = saved
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(httpx_level)
