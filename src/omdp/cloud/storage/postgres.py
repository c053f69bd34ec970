"""The store at scale: PostgreSQL through psycopg 3 and a connection pool.

**Writes.** Row ids are drawn from the identity's sequence up front (one round trip), the
batch's readings (one per id, values packed in the row: :mod:`omdp.cloud.storage.packing`) are
COPied into a session-temporary stage, and one ``INSERT ... OVERRIDING SYSTEM VALUE ... ON
CONFLICT (reading_id) DO NOTHING RETURNING rid`` says which are new. Their hourly partials,
computed in Python (:func:`~omdp.cloud.storage.rollups.batch_partials`), are COPied into a
second stage and merged with one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``. A handful of
round trips per batch, whatever its size, all inside one transaction.

Every wait is bounded: pool checkout (``timeout``), connect (``connect_timeout``) and each
statement (``statement_timeout``).

**JIT is off** for the store's sessions: the queries are short, and compiling their plans
took longer than running them (``docs/benchmarks.md``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Final

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from omdp.catalog import Catalog
from omdp.cloud.model import QuarantineEntry, StoredReading, WriteResult
from omdp.cloud.storage.composed import ComposedStore
from omdp.cloud.storage.packing import pack
from omdp.cloud.storage.rollups import (
    ROLLUP_COLUMNS,
    Partial,
    batch_partials,
    merge_sql,
    replace_sql,
)
from omdp.cloud.storage.schema_postgres import MIGRATIONS
from omdp.cloud.storage.sqlbase import Dialect, SqlReadings, Tx
from omdp.errors import StorageError

POOL_TIMEOUT_S: Final = 10.0
STATEMENT_TIMEOUT_MS: Final = 300_000
_ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_packed (
    rid BIGINT, reading_id TEXT, meter_id TEXT, t TIMESTAMPTZ, seq BIGINT, fault TEXT,
    concentrator TEXT, vals TEXT) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_roll (
    meter_id TEXT, property_id TEXT, width INTEGER, bucket BIGINT, n BIGINT,
    vmin DOUBLE PRECISION, vmax DOUBLE PRECISION, vsum DOUBLE PRECISION,
    first_t BIGINT, first_v DOUBLE PRECISION, last_t BIGINT, last_v DOUBLE PRECISION,
    internal DOUBLE PRECISION) ON COMMIT DELETE ROWS
"""

# the partials' times are staged as integer microseconds and converted by the server, which
# costs less than three datetimes a partial in Python (docs/benchmarks.md, "Storage")
_STAGED_ROLLUPS = """(
    SELECT meter_id, property_id, width, TIMESTAMPTZ 'epoch' + bucket * INTERVAL '1 us' AS bucket,
        n, vmin, vmax, vsum, TIMESTAMPTZ 'epoch' + first_t * INTERVAL '1 us' AS first_t, first_v,
        TIMESTAMPTZ 'epoch' + last_t * INTERVAL '1 us' AS last_t, last_v, internal
    FROM stage_roll) AS staged"""

# binary COPY with declared types: no per-value type lookup (docs/benchmarks.md, "Storage")
_READING_TYPES: Final = ("int8", "text", "text", "timestamptz", "int8", "text", "text", "text")
_ROLLUP_TYPES: Final = (
    "text", "text", "int4", "int8", "int8", "float8", "float8", "float8",
    "int8", "float8", "int8", "float8", "float8",
)  # fmt: skip

_ROLLUP_LOCK: Final = 7423012

# the identity's sequence named by a parameter: looked up per row (``pg_get_serial_sequence``
# inside ``nextval``), drawing 1,500 ids took six times longer (docs/benchmarks.md, "Storage")
_RIDS = "SELECT nextval(?::regclass) FROM generate_series(1, ?)"
_RID_SEQUENCE = "SELECT pg_get_serial_sequence('readings', 'rid')"

# a batch's readings go into the heap by meter and time, so that the readings of one meter
# that a batch carries share pages (a meter's span then reads fewer pages)
_KEEP_NEW = """
INSERT INTO readings (rid, reading_id, meter_id, t, seq, fault, concentrator, received, vals)
OVERRIDING SYSTEM VALUE
SELECT rid, reading_id, meter_id, t, seq, fault, concentrator, now(), vals FROM stage_packed
ORDER BY meter_id, t, rid
ON CONFLICT (reading_id) DO NOTHING
RETURNING rid
"""


class PostgresDialect(Dialect):
    """``%s`` placeholders; timestamptz; date_bin buckets."""

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def bucket(self, column: str, width_s: int) -> str:
        return f"date_bin(INTERVAL '{width_s} seconds', {column}, {_ORIGIN})"

    def us_sql(self, column: str) -> str:
        return f"(EXTRACT(EPOCH FROM {column}) * 1000000)::int8"

    def plus(self, column: str, width_s: int) -> str:
        return f"({column} + INTERVAL '{width_s} seconds')"

    def items(self, column: str) -> str:
        return f"json_array_elements({column}::json) j"

    def item(self, index: int, *, number: bool = False) -> str:
        return f"(j ->> {index})::float8" if number else f"j ->> {index}"


class PostgresDatabase:
    """A PostgreSQL connection pool: the connection the store's roles share."""

    dialect = PostgresDialect("postgres", least="LEAST", greatest="GREATEST")

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = url
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=POOL_TIMEOUT_S,
            kwargs={
                "connect_timeout": 10,
                # times come back as UTC datetimes, as the store returns them
                "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c jit=off"
                " -c timezone=UTC",
            },
        )
        try:
            self._pool.open(wait=True, timeout=POOL_TIMEOUT_S)
        except (PoolTimeout, psycopg.Error) as exc:
            self._pool.close()
            msg = f"cannot connect to PostgreSQL at {self._location}: {self._why(exc)}"
            raise StorageError(msg) from exc

    def _why(self, exc: Exception) -> str:
        """The server's own reason when the pool only says it timed out (a wrong or missing
        password, an unknown database, a refused connection): one direct attempt tells it."""
        if not isinstance(exc, PoolTimeout):
            return str(exc)
        try:
            psycopg.connect(self.url, connect_timeout=5).close()
        except psycopg.Error as direct:
            return str(direct).strip()
        return str(exc)

    @property
    def _location(self) -> str:
        return self.url.rsplit("@", 1)[-1]

    def close(self) -> None:
        """Close the pool and its connections."""
        self._pool.close()

    @contextlib.contextmanager
    def tx(self) -> Iterator[Tx]:
        """A transaction on a pooled connection: commits when the block ends, rolls back when
        it raises; driver errors and pool timeouts become :class:`StorageError`."""
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
                yield Tx(cursor, self.dialect)
        except PoolTimeout as exc:
            msg = f"PostgreSQL at {self._location}: no connection within {POOL_TIMEOUT_S} s"
            raise StorageError(msg) from exc
        except psycopg.Error as exc:
            msg = f"PostgreSQL at {self._location}: {exc}"
            raise StorageError(msg) from exc

    def lock_schema(self, tx: Tx) -> None:
        """Serialise concurrent migrators: a transaction-scoped advisory lock."""
        tx.run("SELECT pg_advisory_xact_lock(7423011)")


class PostgresReadings(SqlReadings):
    """Readings and quarantine in PostgreSQL: the shared SQL, and the bulk write of one batch
    (COPY into a stage, then one insert)."""

    dialect = PostgresDatabase.dialect
    _sequence: str | None = None
    """The name of the row ids' sequence, looked up at the first write."""

    # -- writes -------------------------------------------------------------------------------

    def write_batch(
        self, readings: Sequence[StoredReading], quarantine: Sequence[QuarantineEntry] = ()
    ) -> WriteResult:
        """Store new readings and quarantine entries in one commit; duplicates are skipped."""
        d = self.dialect
        stored = 0
        with self._tx() as tx:
            cur = tx.cursor
            if readings:
                cur.execute(_STAGE)
                # one reading per id: the first of the batch wins, as in the SQLite store
                index = list(
                    {r.reading_id: i for i, r in reversed(list(enumerate(readings)))}.values()
                )
                index.sort()
                if self._sequence is None:
                    self._sequence = tx.scalar(_RID_SEQUENCE)
                rids = [r for (r,) in tx.run(_RIDS, [self._sequence, len(index)])]
                with cur.copy(
                    "COPY stage_packed (rid, reading_id, meter_id, t, seq, fault, concentrator,"
                    " vals)"
                    " FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(_READING_TYPES)
                    for rid, i in zip(rids, index, strict=True):
                        r = readings[i]
                        copy.write_row(
                            (
                                rid,
                                r.reading_id,
                                r.meter_id,
                                r.reading_time,
                                r.sequence_number,
                                r.fault_code,
                                r.concentrator_id,
                                pack(r.values),
                            )
                        )
                kept = {rid for (rid,) in tx.run(_KEEP_NEW)}
                new = [(rid, i) for rid, i in zip(rids, index, strict=True) if rid in kept]
                stored = len(new)
                if new:
                    self._merge_rollups(tx, readings, new)
            tx.many(self._Q_INSERT, self._quarantine_rows(quarantine, d))
        return WriteResult(
            stored=stored, duplicates=len(readings) - stored, quarantined=len(quarantine)
        )

    @staticmethod
    def _stage_partials(tx: Tx, parts: list[Partial]) -> None:
        """COPY partials into ``stage_roll``, times as integer microseconds."""
        with tx.cursor.copy(
            f"COPY stage_roll ({ROLLUP_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_ROLLUP_TYPES)
            for p in parts:
                copy.write_row(p)

    def _replace_rollups(self, tx: Tx, parts: list[Partial]) -> None:
        """Write recomputed buckets over the stored ones: COPY, then one upsert.

        Called after a batch's merge (whose partials ``stage_roll`` still holds) and from
        deletions and retention (which staged nothing yet): the stage is made and emptied here,
        not on every batch's path.
        """
        tx.cursor.execute(_STAGE)
        tx.run("DELETE FROM stage_roll")
        self._stage_partials(tx, parts)
        tx.run(replace_sql(source=_STAGED_ROLLUPS))

    def _merge_rollups(
        self, tx: Tx, readings: Sequence[StoredReading], new: list[tuple[int, int]]
    ) -> None:
        """Merge the hourly partials of the new readings into the rollups."""
        d = self.dialect
        times = [d.us(r.reading_time) for r in readings]
        ordered = sorted((i for _, i in new), key=times.__getitem__)
        self._stage_partials(tx, batch_partials(readings, ordered, times))
        # Writers in other processes (shared subscriptions) merge into the same buckets: the
        # merge and recomputation run one batch at a time, so that a recomputation (whose
        # snapshot is taken when its statement starts) never overwrites a merge committed
        # while it waited for the row lock. Readings are written before, concurrently.
        tx.run("SELECT pg_advisory_xact_lock(?)", [_ROLLUP_LOCK])
        tx.run(merge_sql(d, source=_STAGED_ROLLUPS))
        self._recompute_dirty(tx)
        first: dict[str, datetime] = {}
        for i in ordered:
            first.setdefault(readings[i].meter_id, readings[i].reading_time)
        tx.run(
            "INSERT INTO seen_meters (meter_id, first_seen)"
            " SELECT * FROM unnest(?::text[], ?::timestamptz[]) ON CONFLICT DO NOTHING",
            [list(first), list(first.values())],
        )


class PostgresStore(ComposedStore):
    """A :class:`~omdp.cloud.storage.port.ReadingStore` in PostgreSQL."""

    dialect = PostgresDatabase.dialect

    def __init__(self, url: str, *, pool_size: int = 5, catalog: Catalog | None = None) -> None:
        self.url = url
        self._pg = PostgresDatabase(url, pool_size=pool_size)
        super().__init__(
            self._pg, PostgresReadings(self._pg), migrations=MIGRATIONS, catalog=catalog
        )

    def close(self) -> None:
        """Close the pool and its connections."""
        self._pg.close()
