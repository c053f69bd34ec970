"""The store at scale: PostgreSQL through psycopg 3 and a connection pool.

**Writes.** A batch is COPied into two session-temporary staging tables (readings, values),
then one ``INSERT ... SELECT DISTINCT ON ... ON CONFLICT (reading_id) DO NOTHING RETURNING``
keeps the new readings, their values follow with ``INSERT ... SELECT`` from the stage, and the
rollups are upserted from the stage too: five round trips per batch, whatever its size.

**Partitions.** ``reading_values`` is partitioned by month on the reading time; a batch first
creates the months it needs (``CREATE TABLE IF NOT EXISTS ... PARTITION OF``, in a short
transaction of its own, remembered per store). Retention drops whole months.

Every wait is bounded: pool checkout (``timeout``), connect (``connect_timeout``) and each
statement (``statement_timeout``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Final

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from omdp.catalog import Catalog
from omdp.cloud.model import QuarantineEntry, StoredReading, WriteResult
from omdp.cloud.storage.lifecycle import LifecycleMixin
from omdp.cloud.storage.registry import RegistryMixin
from omdp.cloud.storage.rollups import WIDTHS, merge_sql
from omdp.cloud.storage.schema_postgres import MIGRATIONS
from omdp.cloud.storage.sqlbase import Dialect, SqlStore, Tx
from omdp.errors import StorageError

POOL_TIMEOUT_S: Final = 10.0
STATEMENT_TIMEOUT_MS: Final = 300_000
_ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_r (
    idx INTEGER, reading_id TEXT, meter_id TEXT, t TIMESTAMPTZ, seq BIGINT, fault TEXT,
    concentrator TEXT) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_v (
    idx INTEGER, pos INTEGER, property_id TEXT, num DOUBLE PRECISION, txt TEXT, unit TEXT,
    vdate TIMESTAMPTZ) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_new (
    idx INTEGER, rid BIGINT, meter_id TEXT, t TIMESTAMPTZ) ON COMMIT DELETE ROWS
"""

_KEEP_NEW = """
WITH ins AS (
    INSERT INTO readings (reading_id, meter_id, t, seq, fault, concentrator, received)
    SELECT DISTINCT ON (reading_id) reading_id, meter_id, t, seq, fault, concentrator, now()
    FROM stage_r ORDER BY reading_id, idx
    ON CONFLICT (reading_id) DO NOTHING
    RETURNING rid, reading_id, meter_id, t)
INSERT INTO stage_new (idx, rid, meter_id, t)
SELECT min(s.idx), ins.rid, ins.meter_id, ins.t FROM ins JOIN stage_r s USING (reading_id)
GROUP BY ins.rid, ins.meter_id, ins.t
"""

_VALUES = """
INSERT INTO reading_values (rid, pos, meter_id, property_id, t, num, txt, unit, vdate)
SELECT n.rid, v.pos, n.meter_id, v.property_id, n.t, v.num, v.txt, v.unit, v.vdate
FROM stage_new n JOIN stage_v v ON v.idx = n.idx
"""

_ROLLUP_SOURCE = (
    "SELECT n.meter_id, v.property_id, n.t, v.num, n.rid, v.pos FROM stage_new n"
    " JOIN stage_v v ON v.idx = n.idx WHERE v.num IS NOT NULL"
)


class PostgresDialect(Dialect):
    """``%s`` placeholders; timestamptz; date_bin buckets."""

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def bucket(self, column: str, width_s: int) -> str:
        return f"date_bin(INTERVAL '{width_s} seconds', {column}, {_ORIGIN})"

    def plus(self, column: str, width_s: int) -> str:
        return f"({column} + INTERVAL '{width_s} seconds')"


def _month(when: datetime) -> date:
    return when.astimezone(UTC).date().replace(day=1)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


class PostgresStore(RegistryMixin, LifecycleMixin, SqlStore):
    """A :class:`~omdp.cloud.storage.port.ReadingStore` in PostgreSQL."""

    dialect = PostgresDialect("postgres", least="LEAST", greatest="GREATEST")
    migrations = MIGRATIONS

    def __init__(self, url: str, *, pool_size: int = 5, catalog: Catalog | None = None) -> None:
        self.url = url
        self.catalog = catalog
        self._months: set[date] = set()
        self._months_lock = threading.Lock()
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=POOL_TIMEOUT_S,
            kwargs={
                "connect_timeout": 10,
                "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            },
        )
        try:
            self._pool.open(wait=True, timeout=POOL_TIMEOUT_S)
        except (PoolTimeout, psycopg.Error) as exc:
            self._pool.close()
            msg = f"cannot connect to PostgreSQL at {self._location}: {exc}"
            raise StorageError(msg) from exc

    @property
    def _location(self) -> str:
        return self.url.rsplit("@", 1)[-1]

    def close(self) -> None:
        """Close the pool and its connections."""
        self._pool.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Tx]:
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
                yield Tx(cursor, self.dialect)
        except PoolTimeout as exc:
            msg = f"PostgreSQL at {self._location}: no connection within {POOL_TIMEOUT_S} s"
            raise StorageError(msg) from exc
        except psycopg.Error as exc:
            msg = f"PostgreSQL at {self._location}: {exc}"
            raise StorageError(msg) from exc

    def _lock_schema(self, tx: Tx) -> None:
        tx.run("SELECT pg_advisory_xact_lock(7423011)")

    # -- partitions ---------------------------------------------------------------------------

    @staticmethod
    def _partition(month: date) -> str:
        return f"reading_values_y{month.year:04d}m{month.month:02d}"

    def _ensure_months(self, readings: Sequence[StoredReading]) -> None:
        needed = {_month(r.reading_time) for r in readings} - self._months
        if not needed:
            return
        with self._months_lock, self._tx() as tx:
            for month in sorted(needed):
                tx.run(
                    f"CREATE TABLE IF NOT EXISTS {self._partition(month)} PARTITION OF "
                    f"reading_values FOR VALUES FROM ('{month.isoformat()}T00:00:00+00') "
                    f"TO ('{_next_month(month).isoformat()}T00:00:00+00')"
                )
        self._months |= needed

    def _drop_partitions(self, tx: Tx, before: datetime) -> list[str]:
        rows = tx.run(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'reading_values'"
        )
        dropped = []
        for (name,) in rows:
            year, month = int(name[-7:-3]), int(name[-2:])
            if _next_month(date(year, month, 1)) <= before.astimezone(UTC).date():
                tx.run(f"DROP TABLE {name}")
                dropped.append(name)
                self._months.discard(date(year, month, 1))
        return sorted(dropped)

    # -- writes -------------------------------------------------------------------------------

    def write_batch(
        self, readings: Sequence[StoredReading], quarantine: Sequence[QuarantineEntry] = ()
    ) -> WriteResult:
        """Store new readings and quarantine entries in one commit; duplicates are skipped."""
        self._ensure_months(readings)
        d = self.dialect
        with self._tx() as tx:
            cur = tx.cursor
            stored = 0
            if readings:
                cur.execute(_STAGE)
                with cur.copy(
                    "COPY stage_r (idx, reading_id, meter_id, t, seq, fault, concentrator)"
                    " FROM STDIN"
                ) as copy:
                    for i, r in enumerate(readings):
                        copy.write_row(
                            (
                                i,
                                r.reading_id,
                                r.meter_id,
                                r.reading_time,
                                r.sequence_number,
                                r.fault_code,
                                r.concentrator_id,
                            )
                        )
                with cur.copy(
                    "COPY stage_v (idx, pos, property_id, num, txt, unit, vdate) FROM STDIN"
                ) as copy:
                    for i, r in enumerate(readings):
                        for pos, v in enumerate(r.values):
                            copy.write_row(
                                (
                                    i,
                                    pos,
                                    v.property_id,
                                    v.numerical_value,
                                    v.text_value,
                                    v.unit,
                                    v.date,
                                )
                            )
                stored = tx.count(_KEEP_NEW)
                if stored:
                    tx.count(_VALUES)
                    for width in WIDTHS:
                        tx.run(merge_sql(d, width, _ROLLUP_SOURCE))
                    self._recompute_dirty(tx)
                    tx.count(
                        "INSERT INTO seen_meters (meter_id, first_seen) SELECT meter_id, min(t)"
                        " FROM stage_new GROUP BY meter_id ON CONFLICT DO NOTHING"
                    )
            tx.many(self._Q_INSERT, self._quarantine_rows(quarantine, d))
        return WriteResult(
            stored=stored, duplicates=len(readings) - stored, quarantined=len(quarantine)
        )
