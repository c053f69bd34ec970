"""Render a decoded frame as JSON-ready data (used by the CLI and the adapter)."""

from __future__ import annotations

import math
from typing import Any

from omdp.decoders.mbus.application import Frame
from omdp.decoders.mbus.datatypes import DateTimeValue
from omdp.decoders.mbus.records import DataRecord, Value
from omdp.decoders.mbus.tables import FIXED_MEDIUM


def json_value(value: Value) -> int | float | str | None:
    """Return a record value as a JSON scalar: number, string or ISO date-time (no zone)."""
    if isinstance(value, DateTimeValue):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def record_to_json(record: DataRecord) -> dict[str, Any]:
    """Return one record as a dict with camelCase keys and its raw bytes as hex."""
    return {
        "function": record.function,
        "storageNumber": record.storage_number,
        "tariff": record.tariff,
        "subunit": record.subunit,
        "quantity": record.quantity,
        "unit": record.unit,
        "value": json_value(record.value),
        "dib": record.dib.hex(" ").upper(),
        "vib": record.vib.hex(" ").upper(),
        "raw": record.raw.hex(" ").upper(),
    }


def frame_to_json(frame: Frame) -> dict[str, Any]:
    """Return a decoded frame as a JSON-ready dict.

    Keys: ``kind``, ``control``, ``address``, ``ci`` and, where the frame has them, ``header``
    (``id`` as its digit string, ``manufacturer``, ``version``, ``medium``, ``accessNumber``,
    ``status``, ``signature``), ``records`` and ``moreRecordsFollow``.
    """
    out: dict[str, Any] = {
        "kind": frame.kind,
        "control": frame.control,
        "address": frame.address,
        "ci": frame.ci,
    }
    h = frame.header
    if h is not None:
        medium = None
        if h.medium is not None:
            medium = FIXED_MEDIUM[h.medium & 0x0F] if frame.fixed else h.medium_name
        out["header"] = {
            "id": h.id,
            "manufacturer": h.manufacturer,
            "version": h.version,
            "medium": medium,
            "accessNumber": h.access_number,
            "status": h.status,
            "signature": h.signature,
        }
    if frame.ci is not None:
        out["records"] = [record_to_json(r) for r in frame.records]
        out["moreRecordsFollow"] = frame.more_records_follow
    return out
