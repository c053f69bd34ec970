"""Backfill historic readings from CSV or NDJSON into the store, idempotently.

**CSV**: a header row naming at least ``readingTime``, ``meterId``, ``propertyId`` and one of
``numericalValue`` / ``textValue`` (``unit`` optional; column order free; extra columns
ignored). One row per property value; the rows of one reading (same ``meterId`` and
``readingTime``) must be adjacent, as ``omdp export --format csv`` writes them. A reading's
``meterReadingIdentifier`` is UUIDv5 of meter and time (:func:`~omdp.ops.ids.reading_id`), so
importing the same file again stores nothing new. An optional ``readingId`` column, when
present and filled, is used instead.

**NDJSON**: one MeterReading (the data model's JSON) per line, validated like ingest validates
a message; the meter is ``meterIndividual.meterIndividualId``; the reading keeps its own id.

A bad row or line is skipped with its line number and reason; good ones are stored in batches
through the store's ``write_batch`` (which skips ids already stored).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from omdp.cloud.model import StoredReading, StoredValue
from omdp.cloud.storage.port import ReadingWriter
from omdp.domain.identifiers import IDENTIFIER_RULE, is_identifier
from omdp.domain.reading import EARLIEST, LATEST
from omdp.domain.validation import parse_reading
from omdp.errors import ValidationFailure
from omdp.ops.ids import reading_id

BATCH: Final = 2000
REQUIRED: Final = ("readingTime", "meterId", "propertyId")
ImportFormat = Literal["csv", "ndjson"]


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    readings: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """(line number, reason) of every skipped row or line."""

    def add(self, stored: int, duplicates: int) -> None:
        """Count one written batch."""
        self.stored += stored
        self.duplicates += duplicates


class _Skip(Exception):
    """A row that cannot be imported; the message is the reason."""


def format_of(path: Path) -> ImportFormat:
    """The import format a file name implies (``.csv``; ``.ndjson``/``.jsonl``)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".ndjson", ".jsonl", ".json"):
        return "ndjson"
    msg = f"{path}: unknown format {suffix!r}; use .csv or .ndjson (or --format)"
    raise ValueError(msg)


def _time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        msg = f"readingTime {text!r} is not an RFC 3339 time"
        raise _Skip(msg) from None
    if when.tzinfo is None:
        msg = f"readingTime {text!r} MUST include a timezone offset (DM-1)"
        raise _Skip(msg)
    if not EARLIEST <= when < LATEST:
        msg = f"readingTime {text!r} is outside 1970..2199"
        raise _Skip(msg)
    return when


def _value(row: dict[str, str]) -> StoredValue:
    prop = (row.get("propertyId") or "").strip()
    if not is_identifier(prop):
        msg = f"propertyId {prop!r} is not an identifier ({IDENTIFIER_RULE})"
        raise _Skip(msg)
    number_text = (row.get("numericalValue") or "").strip()
    text = row.get("textValue") or None
    number = None
    if number_text:
        try:
            number = float(number_text)
        except ValueError:
            msg = f"numericalValue {number_text!r} is not a number"
            raise _Skip(msg) from None
        if not math.isfinite(number):
            msg = f"numericalValue {number_text!r} is not finite"
            raise _Skip(msg)
    if number is None and text is None:
        msg = "a property value MUST have numericalValue or textValue (DM-3)"
        raise _Skip(msg)
    return StoredValue(prop, number, text, (row.get("unit") or "").strip() or None)


def _csv_readings(lines: Iterable[str], report: ImportReport) -> Iterator[StoredReading]:
    reader = csv.DictReader(lines)
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing or not {"numericalValue", "textValue"} & set(header):
        need = missing or ["numericalValue or textValue"]
        msg = f"CSV header lacks {', '.join(need)} (has: {', '.join(header) or 'nothing'})"
        raise ValueError(msg)
    seen: set[tuple[str, datetime]] = set()
    key: tuple[str, datetime] | None = None
    rid: str | None = None
    values: list[StoredValue] = []

    def flush() -> Iterator[StoredReading]:
        if key is not None and values:
            yield StoredReading(rid or reading_id(*key), key[0], key[1], tuple(values))

    for row in reader:
        line = reader.line_num
        try:
            meter = (row.get("meterId") or "").strip()
            if not is_identifier(meter):
                msg = f"meterId {meter!r} is not an identifier ({IDENTIFIER_RULE})"
                raise _Skip(msg)
            this = (meter, _time(row.get("readingTime") or ""))
            value = _value(row)
            if this != key:
                if this in seen:
                    msg = f"rows of reading ({meter}, {this[1].isoformat()}) are not adjacent"
                    raise _Skip(msg)
                yield from flush()
                seen.add(this)
                key, values = this, []
                rid = (row.get("readingId") or "").strip() or None
            values.append(value)
        except _Skip as exc:
            report.skipped.append((line, str(exc)))
    yield from flush()


def _ndjson_readings(lines: Iterable[str], report: ImportReport) -> Iterator[StoredReading]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            reading = parse_reading(line, source=f"line {number}")
        except ValidationFailure as exc:
            reasons = "; ".join(f"{path}: {why}" for path, why in exc.problems[:3])
            report.skipped.append((number, reasons))
            continue
        if reading.meter_id is None:
            report.skipped.append((number, "$.meterIndividual.meterIndividualId: field required"))
            continue
        yield StoredReading.from_reading(reading, meter_id=reading.meter_id)


def import_readings(
    store: ReadingWriter,
    lines: Iterable[str],
    *,
    fmt: ImportFormat,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``lines`` (a CSV or NDJSON text, line by line) into ``store``.

    Args:
        store: where readings go (ids already stored are skipped).
        lines: the file's lines.
        fmt: ``csv`` or ``ndjson``.
        progress: called with the number of readings of each written batch.

    Returns:
        Counts of readings read, stored and already stored, and the skipped lines with reasons.

    Raises:
        ValueError: a CSV header lacks a required column.
    """
    report = ImportReport()
    source = _csv_readings(lines, report) if fmt == "csv" else _ndjson_readings(lines, report)
    batch: list[StoredReading] = []
    for reading in source:
        batch.append(reading)
        if len(batch) >= BATCH:
            _write(store, batch, report, progress)
            batch = []
    if batch:
        _write(store, batch, report, progress)
    return report


def _write(
    store: ReadingWriter,
    batch: list[StoredReading],
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> None:
    result = store.write_batch(batch)
    report.readings += len(batch)
    report.add(result.stored, result.duplicates)
    if progress is not None:
        progress(len(batch))
