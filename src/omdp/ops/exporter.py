"""Export stored readings as CSV, NDJSON or Parquet, streamed from the store.

- **csv**: one row per property value with the columns ``readingTime, meterId, propertyId,
  numericalValue, textValue, unit, readingId`` (the import's format: a CSV export imports
  again unchanged, ids included);
- **ndjson**: one MeterReading (the data model's JSON, with its ``meterReadingIdentifier``)
  per line;
- **parquet**: the CSV's columns, typed (``readingTime`` as UTC microseconds), in row groups.

Readings come from the store's ``query_readings`` iterator in (readingTime, meter, id) order,
so memory stays flat whatever the size of the export.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final, Literal

from omdp.cloud.model import ReadingFilter, StoredReading
from omdp.cloud.storage.port import ReadingQuery

ExportFormat = Literal["csv", "ndjson", "parquet"]
COLUMNS: Final = (
    "readingTime", "meterId", "propertyId", "numericalValue", "textValue", "unit", "readingId",
)  # fmt: skip
ROW_GROUP: Final = 100_000


def _rows(readings: Iterable[StoredReading]) -> Iterator[tuple[object, ...]]:
    for r in readings:
        when = r.reading_time.isoformat()
        for v in r.values:
            number = "" if v.numerical_value is None else repr(v.numerical_value)
            yield (when, r.meter_id, v.property_id, number, v.text_value or "", v.unit or "",
                   r.reading_id)  # fmt: skip


def _csv(readings: Iterable[StoredReading], out: Path, tick: Callable[[], None]) -> None:
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in readings:
            writer.writerows(_rows((r,)))
            tick()


def _ndjson(readings: Iterable[StoredReading], out: Path, tick: Callable[[], None]) -> None:
    with out.open("wb") as f:
        for r in readings:
            f.write(r.to_meter_reading().to_json() + b"\n")
            tick()


def _parquet(readings: Iterable[StoredReading], out: Path, tick: Callable[[], None]) -> None:
    import pyarrow as pa  # type: ignore[import-untyped]  # noqa: PLC0415 - only for Parquet
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # noqa: PLC0415

    schema = pa.schema(
        [
            ("readingTime", pa.timestamp("us", tz="UTC")),
            ("meterId", pa.string()),
            ("propertyId", pa.string()),
            ("numericalValue", pa.float64()),
            ("textValue", pa.string()),
            ("unit", pa.string()),
            ("readingId", pa.string()),
        ]
    )
    columns: list[list[object]] = [[] for _ in COLUMNS]

    def flush(writer: pq.ParquetWriter) -> None:
        if columns[0]:
            writer.write_table(pa.table(columns, schema=schema))
            for c in columns:
                c.clear()

    with pq.ParquetWriter(out, schema) as writer:
        for r in readings:
            for v in r.values:
                row = (r.reading_time, r.meter_id, v.property_id, v.numerical_value,
                       v.text_value, v.unit, r.reading_id)  # fmt: skip
                for column, item in zip(columns, row, strict=True):
                    column.append(item)
            if len(columns[0]) >= ROW_GROUP:
                flush(writer)
            tick()
        flush(writer)


WRITERS: Final = {"csv": _csv, "ndjson": _ndjson, "parquet": _parquet}


def export_readings(
    store: ReadingQuery,
    flt: ReadingFilter,
    out: Path,
    *,
    fmt: ExportFormat,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the readings ``flt`` selects to ``out``; return how many were written.

    Args:
        store: the source.
        flt: a :class:`~omdp.cloud.model.ReadingFilter`.
        out: the file to write (replaced).
        fmt: ``csv``, ``ndjson`` or ``parquet``.
        progress: called with 1000 every thousand readings (and the rest at the end).
    """
    written = 0
    pending = 0

    def tick() -> None:
        nonlocal written, pending
        written += 1
        pending += 1
        if pending == 1000 and progress is not None:
            progress(pending)
            pending = 0

    out.parent.mkdir(parents=True, exist_ok=True)
    WRITERS[fmt](store.query_readings(flt), out, tick)
    if pending and progress is not None:
        progress(pending)
    return written
