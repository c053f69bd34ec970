"""What the SQLite and PostgreSQL stores share: one SQL text, two dialects.

The SQL is written once with ``?`` placeholders; a :class:`Dialect` supplies what differs
(placeholders, how times are stored, bucket arithmetic, LEAST/GREATEST). Each adapter provides
:class:`~omdp.cloud.storage.database.Database` (a transaction that commits on success and
rolls back on error, with driver errors turned into :class:`StorageError`) and the bulk write of
one batch (a subclass of :class:`SqlReadings` per engine).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from omdp.cloud.model import (
    QuarantineEntry,
    ReadingFilter,
    StoredReading,
    StoredValue,
    WriteResult,
)
from omdp.cloud.storage.accumulate import Partial
from omdp.cloud.storage.database import SqlRole
from omdp.cloud.storage.dialect import Dialect, Tx, in_list
from omdp.cloud.storage.packing import unpack, unpacker
from omdp.cloud.storage.rollups import WIDTHS, dirty_readings, readings_partials, replace_sql

__all__ = ["PAGE", "Dialect", "ReadingRow", "SqlReadings", "Tx", "in_list"]

#: How many readings one internal page of a streamed query holds.
PAGE = 5000


class ReadingRow(NamedTuple):
    """A ``readings`` row as the queries read it (:attr:`SqlReadings._HEAD`)."""

    rid: int
    reading_id: str
    meter_id: str
    t: Any
    seq: int | None
    fault: str | None
    concentrator: str | None
    vals: str


def _one_meter(flt: ReadingFilter) -> str | None:
    """The meter, when ``flt`` selects the readings of exactly one."""
    if flt.meter_ids is None or len(set(flt.meter_ids)) != 1:
        return None
    return flt.meter_ids[0]


class SqlReadings(SqlRole, abc.ABC):
    """Readings (query, count, get, delete) and quarantine in the shared SQL, over the store's
    :class:`~omdp.cloud.storage.database.Database`; each engine adds the bulk write of one
    batch (``write_batch``)."""

    @abc.abstractmethod
    def write_batch(
        self, readings: Sequence[StoredReading], quarantine: Sequence[QuarantineEntry] = ()
    ) -> WriteResult:
        """Store new readings and quarantine entries in one commit; duplicates are skipped."""

    def recompute_dirty(self, tx: Tx) -> None:
        """Recompute the rollups marked dirty, in ``tx`` (after deletions elsewhere)."""
        self._recompute_dirty(tx)

    def replace_rollups(self, tx: Tx, parts: list[Partial]) -> None:
        """Write recomputed buckets over the stored ones, in ``tx`` (a rebuild)."""
        self._replace_rollups(tx, parts)

    # -- helpers ------------------------------------------------------------------------------

    def _where(self, flt: ReadingFilter) -> tuple[str, list[Any]]:
        d = self.dialect
        clauses: list[str] = []
        params: list[Any] = []
        meter = _one_meter(flt)
        if meter is not None:
            # one meter's span as bounds on (meter_id, t): only the index that leads with the
            # meter can serve them, and it gives the readings in order, so the planner never
            # walks the time index past every other meter's readings of the span (PostgreSQL
            # did for an equality on the meter: docs/benchmarks.md, "One meter's span")
            for bound, op, open_op in ((flt.start, ">=", ">="), (flt.end, "<", "<=")):
                if bound is None:  # open: the meter's first (last) reading
                    clauses.append(f"r.meter_id {open_op} ?")
                    params.append(meter)
                else:
                    clauses.append(f"(r.meter_id, r.t) {op} (?, ?)")
                    params += [meter, d.ts(bound)]
        else:
            if flt.start is not None:
                clauses.append("r.t >= ?")
                params.append(d.ts(flt.start))
            if flt.end is not None:
                clauses.append("r.t < ?")
                params.append(d.ts(flt.end))
            if flt.meter_ids is not None:
                clauses.append(f"r.meter_id IN {in_list(flt.meter_ids)}")
                params.extend(flt.meter_ids)
        for f in flt.filters:
            conds = [f"{d.item(0)} = ?"]
            params.append(f.property_id)
            for op, value in (("> ?", f.greater_than), ("< ?", f.less_than), ("= ?", f.equal_to)):
                if value is not None:
                    conds.append(f"{d.item(1, number=True)} {op}")
                    params.append(value)
            if f.text_equal_to is not None:
                conds.append(f"{d.item(2)} = ?")
                params.append(f.text_equal_to)
            clauses.append(
                f"EXISTS (SELECT 1 FROM {d.items('r.vals')} WHERE {' AND '.join(conds)})"  # noqa: S608
            )
        return " AND ".join(clauses) or "1 = 1", params

    def _reading(self, row: ReadingRow, properties: tuple[str, ...] | None) -> StoredReading:
        return StoredReading(
            reading_id=row.reading_id,
            meter_id=row.meter_id,
            reading_time=self.dialect.dt(row.t),
            values=unpack(row.vals, properties),
            sequence_number=row.seq,
            fault_code=row.fault,
            concentrator_id=row.concentrator,
        )

    # -- readings -----------------------------------------------------------------------------

    _HEAD = "SELECT r.rid, r.reading_id, r.meter_id, r.t, r.seq, r.fault, r.concentrator, r.vals"
    _PAGE = "SELECT r.reading_id, r.meter_id, r.t, r.seq, r.fault, r.concentrator, r.vals"

    def _page_sql(self, where: str, keyset: bool, *, by_meter: bool) -> str:
        """One page: the readings (their values packed in each row), in (reading_time,
        meter_id, reading_id) order, from the key after the last one seen. ``by_meter``:
        the query is of one meter, written in the key of the index that leads with it
        (the same order)."""
        key = "r.meter_id, r.t, r.reading_id" if by_meter else "r.t, r.meter_id, r.reading_id"
        sql = f"{self._PAGE} FROM readings r WHERE {where}"
        if keyset:
            sql += f" AND ({key}) > (?, ?, ?)"
        return sql + f" ORDER BY {key} LIMIT ? OFFSET ?"

    def query_readings(
        self, flt: ReadingFilter, *, limit: int | None = None, offset: int = 0
    ) -> Iterator[StoredReading]:
        """Readings selected by ``flt`` in (reading_time, meter_id, reading_id) order, streamed.

        Each page of :data:`PAGE` readings is one statement in a transaction of its own,
        continuing after the last key seen (keyset paging), so that no connection is held
        between pages and memory stays flat however many readings a query selects.
        """
        where, params = self._where(flt)
        by_meter = _one_meter(flt) is not None
        values = unpacker(flt.properties)
        remaining = limit
        after: tuple[Any, ...] | None = None
        skip = offset
        while remaining is None or remaining > 0:
            size = PAGE if remaining is None else min(PAGE, remaining)
            sql = self._page_sql(where, after is not None, by_meter=by_meter)
            page_params = list(params)
            if after is not None:
                page_params.extend(after)
            page_params += [size, skip]
            with self._tx() as tx:
                rows = tx.run(sql, page_params)
            yield from self._page(rows, values)
            if len(rows) < size:
                return
            last_id, last_meter, last_t, *_ = rows[-1]
            skip = 0
            after = (last_meter, last_t, last_id) if by_meter else (last_t, last_meter, last_id)
            if remaining is not None:
                remaining -= len(rows)

    def _page(
        self, rows: list[tuple[Any, ...]], values: Callable[[str], tuple[StoredValue, ...]]
    ) -> list[StoredReading]:
        """The readings of one page of :meth:`_page_sql` rows, built at once (a list costs
        less than a yield per reading)."""
        new = tuple.__new__  # the named tuple's own __new__ is one Python call more a reading
        if rows and isinstance(t := rows[0][2], datetime) and t.tzinfo is UTC:
            # the driver gives UTC datetimes already (the PostgreSQL sessions' time zone)
            return [
                new(StoredReading, (reading_id, meter_id, t, values(vals), seq, fault, conc))
                for reading_id, meter_id, t, seq, fault, conc, vals in rows
            ]
        dt = self.dialect.dt
        return [
            new(StoredReading, (reading_id, meter_id, dt(t), values(vals), seq, fault, conc))
            for reading_id, meter_id, t, seq, fault, conc, vals in rows
        ]

    def count_readings(self, flt: ReadingFilter) -> int:
        """How many readings ``flt`` selects."""
        where, params = self._where(flt)
        with self._tx() as tx:
            row = tx.one(f"SELECT count(*) FROM readings r WHERE {where}", params)  # noqa: S608
        return int(row[0]) if row else 0

    def get_reading(self, reading_id: str) -> StoredReading | None:
        """One reading by its meterReadingIdentifier."""
        with self._tx() as tx:
            row = tx.one(f"{self._HEAD} FROM readings r WHERE r.reading_id = ?", [reading_id])
        return None if row is None else self._reading(ReadingRow(*row), None)

    def delete_reading(self, reading_id: str) -> bool:
        """Delete one reading (CL-11); the rollups of its buckets are recomputed."""
        d = self.dialect
        with self._tx() as tx:
            found = tx.one(f"{self._HEAD} FROM readings r WHERE r.reading_id = ?", [reading_id])
            if found is None:
                return False
            row = ReadingRow(*found)
            props = sorted({v.property_id for v in unpack(row.vals)})
            when = d.dt(row.t)
            for width in WIDTHS:
                bucket = datetime.fromtimestamp(when.timestamp() // width * width, UTC)
                tx.count(
                    "UPDATE rollups SET dirty = 1 WHERE meter_id = ? AND width = ? AND bucket = ?"  # noqa: S608
                    f" AND property_id IN {in_list(props)}",
                    [row.meter_id, width, d.ts(bucket), *props],
                )
            tx.count("DELETE FROM readings WHERE rid = ?", [row.rid])
            self._recompute_dirty(tx)
        return True

    def _recompute_dirty(self, tx: Tx) -> None:
        """Recompute the dirty buckets from the stored readings; drop those left without any.

        The readings are folded here as at ingest (:mod:`omdp.cloud.storage.accumulate`).
        """
        for width in WIDTHS:
            if tx.one("SELECT 1 FROM rollups WHERE dirty = 1 AND width = ? LIMIT 1", [width]):
                self._replace_rollups(tx, readings_partials(dirty_readings(tx, width), width))
        tx.count("DELETE FROM rollups WHERE dirty = 1")

    def _replace_rollups(self, tx: Tx, parts: list[Partial]) -> None:
        """Write recomputed buckets over the stored ones (``executemany``)."""
        tx.many(replace_sql(), parts)

    # -- quarantine ---------------------------------------------------------------------------

    @staticmethod
    def _quarantine_rows(entries: Sequence[QuarantineEntry], d: Dialect) -> list[tuple[Any, ...]]:
        return [
            (d.ts(e.received_at), e.topic, e.payload, orjson.dumps(e.problems).decode(), e.digest)
            for e in entries
        ]

    #: A message redelivered after a crash is quarantined once (same topic and bytes).
    _Q_INSERT = (
        "INSERT INTO quarantine (received, topic, payload, problems, digest)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING"
    )
    _Q_SELECT = "SELECT qid, received, topic, payload, problems FROM quarantine"

    def _entry(self, row: tuple[Any, ...]) -> QuarantineEntry:
        qid, received, topic, payload, problems = row
        return QuarantineEntry(
            topic=topic,
            payload=bytes(payload),
            received_at=self.dialect.dt(received),
            problems=tuple((p, r) for p, r in orjson.loads(problems)),
            entry_id=int(qid),
        )

    def list_quarantine(self, *, limit: int = 100, offset: int = 0) -> list[QuarantineEntry]:
        """Quarantined messages, oldest first."""
        with self._tx() as tx:
            rows = tx.run(f"{self._Q_SELECT} ORDER BY qid LIMIT ? OFFSET ?", [limit, offset])
        return [self._entry(r) for r in rows]

    def count_quarantine(self) -> int:
        """How many messages are in quarantine."""
        with self._tx() as tx:
            row = tx.one("SELECT count(*) FROM quarantine")
        return int(row[0]) if row else 0

    def quarantine_bytes(self) -> int:
        """How many payload bytes the quarantine holds."""
        with self._tx() as tx:
            row = tx.one("SELECT coalesce(sum(length(payload)), 0) FROM quarantine")
        return int(row[0]) if row else 0

    def get_quarantine(self, entry_id: int) -> QuarantineEntry | None:
        """One quarantined message."""
        with self._tx() as tx:
            row = tx.one(f"{self._Q_SELECT} WHERE qid = ?", [entry_id])
        return None if row is None else self._entry(row)

    def delete_quarantine(self, entry_ids: Sequence[int] | None = None) -> int:
        """Delete the given entries (all when None); return how many were deleted."""
        with self._tx() as tx:
            if entry_ids is None:
                return tx.count("DELETE FROM quarantine")
            return tx.count(f"DELETE FROM quarantine WHERE qid IN {in_list(entry_ids)}", entry_ids)  # noqa: S608
