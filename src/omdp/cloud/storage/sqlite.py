"""The embedded default store: one SQLite file in WAL mode.

``synchronous=FULL``: ingest acknowledges a message to the broker once its batch is committed,
so a commit must survive a power cut, not only a process crash. With WAL, NORMAL would skip the
fsync at commit and could lose the last batches on power loss after they were acknowledged;
FULL costs one fsync per batch (of up to thousands of readings), which the ingest benchmark
does not notice.

**Layout**: one ``readings`` row per reading with its values packed in it
(:mod:`omdp.cloud.storage.packing`), clustered by (meter, time) (``WITHOUT ROWID``): a meter's
span is one range of the tree; hourly rollups kept at ingest (see
:mod:`omdp.cloud.storage.rollups`). Why, with the measurements: ``docs/benchmarks.md``.

Times are integers, microseconds since the epoch, UTC. One connection serves the store behind
a lock (calls arrive from worker threads: the API's thread pool, ``asyncio.to_thread``); other
processes may read and write the same file concurrently (WAL; writers wait up to
``busy_timeout``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from omdp.catalog import Catalog
from omdp.cloud.model import QuarantineEntry, StoredReading, WriteResult
from omdp.cloud.storage.composed import ComposedStore
from omdp.cloud.storage.packing import pack
from omdp.cloud.storage.rollups import batch_partials, merge_sql
from omdp.cloud.storage.schema_sqlite import MIGRATIONS
from omdp.cloud.storage.sqlbase import Dialect, SqlReadings, Tx
from omdp.errors import StorageError
from omdp.security.files import private_file

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
BUSY_TIMEOUT_MS: Final = 10_000


class SqliteDialect(Dialect):
    """Times as integer microseconds; scalar min()/max()."""

    def ts(self, value: datetime) -> Any:
        return (value - EPOCH) // _US

    def dt(self, value: Any) -> datetime:
        return EPOCH + timedelta(0, 0, value)  # positional: cheaper than a keyword

    def us(self, value: Any) -> int:
        return int(value)

    def from_us(self, us: int) -> Any:
        return us

    def bucket(self, column: str, width_s: int) -> str:
        us = width_s * 1_000_000
        return f"({column} - {column} % {us})"

    def plus(self, column: str, width_s: int) -> str:
        return f"({column} + {width_s * 1_000_000})"

    def items(self, column: str) -> str:
        return f"json_each({column}) j"

    def item(self, index: int, *, number: bool = False) -> str:
        return f"j.value ->> {index}"


def _us(value: datetime) -> int:
    return (value - EPOCH) // _US


class SqliteDatabase:
    """One SQLite file in WAL mode behind a lock: the connection the store's roles share."""

    dialect = SqliteDialect("sqlite", least="min", greatest="max")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            if str(path) != ":memory:":
                private_file(self.path)  # 0600 before SQLite makes it (and its WAL) 0644
            self._conn = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=10
            )
            for pragma in (
                "journal_mode = WAL",
                "synchronous = FULL",
                f"busy_timeout = {BUSY_TIMEOUT_MS}",
                "foreign_keys = ON",
                "cache_size = -65536",
                "temp_store = MEMORY",
            ):
                self._conn.execute(f"PRAGMA {pragma}")
        except (sqlite3.Error, OSError) as exc:
            msg = f"cannot open SQLite store {path}: {exc}"
            raise StorageError(msg) from exc

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def tx(self) -> Iterator[Tx]:
        """A write transaction (``BEGIN IMMEDIATE``): commits when the block ends, rolls back
        when it raises; driver errors become :class:`StorageError`."""
        with self._lock:
            cursor = self._conn.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                yield Tx(cursor, self.dialect)
                cursor.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.rollback()
                msg = f"SQLite store {self.path}: {exc}"
                raise StorageError(msg) from exc
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.rollback()
                raise
            finally:
                cursor.close()

    def lock_schema(self, tx: Tx) -> None:
        """Nothing: ``BEGIN IMMEDIATE`` excludes other writers already."""


class SqliteReadings(SqlReadings):
    """Readings and quarantine in SQLite: the shared SQL, and the bulk write of one batch."""

    dialect = SqliteDatabase.dialect

    def write_batch(
        self, readings: Sequence[StoredReading], quarantine: Sequence[QuarantineEntry] = ()
    ) -> WriteResult:
        """Store new readings and quarantine entries in one commit; duplicates are skipped.

        Each reading gets the next row id; ``INSERT ... ON CONFLICT DO NOTHING`` skips ids
        already stored, and the row ids that stuck tell which readings are new. Their values
        are packed into their rows; their hourly partials (computed here, see
        :func:`~omdp.cloud.storage.rollups.batch_partials`) are merged into the rollups with
        one ``executemany``.
        """
        d = self.dialect
        received = _us(datetime.now(UTC))
        times = [_us(r.reading_time) for r in readings]
        with self._tx() as tx:
            base = int(tx.scalar("SELECT coalesce(max(rid), 0) FROM readings"))
            tx.many(
                "INSERT INTO readings (meter_id, t, reading_id, rid, seq, fault, concentrator,"
                " received, vals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    (
                        r.meter_id,
                        times[i],
                        r.reading_id,
                        base + 1 + i,
                        r.sequence_number,
                        r.fault_code,
                        r.concentrator_id,
                        received,
                        pack(r.values),
                    )
                    for i, r in enumerate(readings)
                ],
            )
            new = [
                rid - base - 1
                for (rid,) in tx.run("SELECT rid FROM readings WHERE rid > ?", [base])
            ]
            if new:
                ordered = sorted(new, key=times.__getitem__)
                tx.many(merge_sql(d), batch_partials(readings, ordered, times))
                self._recompute_dirty(tx)
                first: dict[str, int] = {}
                for i in ordered:
                    first.setdefault(readings[i].meter_id, times[i])
                tx.many(
                    "INSERT INTO seen_meters (meter_id, first_seen) VALUES (?, ?)"
                    " ON CONFLICT DO NOTHING",
                    list(first.items()),
                )
            tx.many(self._Q_INSERT, self._quarantine_rows(quarantine, d))
        return WriteResult(
            stored=len(new), duplicates=len(readings) - len(new), quarantined=len(quarantine)
        )


class SqliteStore(ComposedStore):
    """A :class:`~omdp.cloud.storage.port.ReadingStore` in one SQLite file."""

    dialect = SqliteDatabase.dialect

    def __init__(self, path: str | Path, *, catalog: Catalog | None = None) -> None:
        self.path = Path(path)
        self._file = SqliteDatabase(path)
        super().__init__(
            self._file, SqliteReadings(self._file), migrations=MIGRATIONS, catalog=catalog
        )

    def close(self) -> None:
        """Close the connection."""
        self._file.close()
