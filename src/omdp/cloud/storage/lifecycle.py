"""Schema migrations, aggregates over rollups, retention and erasure (CL-13): three roles of
both stores, each over the shared :class:`~omdp.cloud.storage.database.Database`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from omdp.catalog import Catalog, PropertyKind, default_catalog
from omdp.cloud.model import (
    ALL_FUNCTIONS,
    AggregateFunction,
    AggregateRow,
    ErasureRecord,
    Interval,
    RetentionPolicy,
    RetentionReport,
)
from omdp.cloud.storage.accumulate import Partial
from omdp.cloud.storage.database import Database, SqlRole, scalar
from omdp.cloud.storage.port import RegistryError
from omdp.cloud.storage.registry import SqlRegistry
from omdp.cloud.storage.rollups import (
    WIDTHS,
    bucketer,
    combine_rows,
    fetch_fine,
    fine_width,
    meter_readings,
    readings_partials,
    roll,
)
from omdp.cloud.storage.sqlbase import Tx, in_list

_ERASED_TABLES = ("readings", "rollups", "seen_meters", "meter_roles")


class AuditRow(NamedTuple):
    """A row of ``erasure_audit``."""

    aid: int
    at: Any
    actor: str
    subject_kind: str
    subject_id: str
    row_counts: str
    """JSON ``{table: rows deleted}``."""


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlSchema(SqlRole):
    """Schema migrations of one engine, and the catalogue seeded after them."""

    def __init__(
        self,
        db: Database,
        *,
        migrations: Sequence[tuple[int, str, str]],
        catalog: Catalog | None,
        registry: SqlRegistry,
    ) -> None:
        super().__init__(db)
        self.migrations = migrations
        self.catalog = catalog
        self.seed_catalog = registry.seed_catalog

    def _lock_schema(self, tx: Tx) -> None:
        """Serialise concurrent migrators (PostgreSQL: an advisory lock)."""
        self.db.lock_schema(tx)

    # -- migrations ---------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply pending schema migrations, seed the catalogue; return the schema version."""
        with self._tx() as tx:
            self._lock_schema(tx)
            tx.run(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                " description TEXT NOT NULL, applied TEXT NOT NULL)"
            )
            newest = scalar(tx, "SELECT max(version) FROM schema_version")
            current = 0 if newest is None else int(newest)
            for version, description, script in self.migrations:
                if version <= current:
                    continue
                for statement in script.split(";\n"):
                    if statement.strip():
                        tx.run(statement)
                tx.count(
                    "INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)",
                    [version, description, datetime.now(UTC).isoformat()],
                )
                current = version
        self.seed_catalog(self.catalog or default_catalog())
        return current


class SqlAggregates(SqlRole):
    """Aggregates of one property per bucket from the rollups (the rollups role)."""

    def __init__(
        self, db: Database, *, replace_rollups: Callable[[Tx, list[Partial]], None]
    ) -> None:
        super().__init__(db)
        self._replace_rollups = replace_rollups
        """Writes recomputed buckets over the stored ones (the readings role's, in ``tx``)."""

    # -- aggregates ---------------------------------------------------------------------------

    def aggregates(
        self,
        *,
        property_id: str,
        interval: Interval,
        start: datetime,
        end: datetime,
        meter_ids: Sequence[str] | None = None,
        household_id: str | None = None,
        functions: Collection[AggregateFunction] = ALL_FUNCTIONS,
        timezone: str | None = None,
        combine: bool = False,
    ) -> list[AggregateRow]:
        """Buckets of one property in ``[start, end)`` for meters or a household's meters.

        Raises:
            RegistryError: unknown household or timezone, or neither meters nor household.
        """
        funcs = frozenset(functions)
        with self._tx() as tx:
            zone_name, meters = self._subjects(tx, meter_ids, household_id)
            try:
                zone = ZoneInfo(timezone or zone_name or "UTC")
            except (ZoneInfoNotFoundError, ValueError) as exc:
                msg = f"unknown IANA timezone {timezone or zone_name!r}"
                raise RegistryError(msg) from exc
            kind = scalar(
                tx, "SELECT kind FROM property_definitions WHERE property_id = ?", [property_id]
            )
            cumulative = kind == PropertyKind.CUMULATIVE.value
            width = fine_width(interval, zone, start, end)
            key = bucketer(interval, width, zone)
            rows: list[AggregateRow] = []
            for meter in meters:
                previous, fine = fetch_fine(
                    tx, meter_id=meter, property_id=property_id, width=width, start=start, end=end
                )
                rows.extend(
                    roll(
                        meter,
                        rows=fine,
                        previous=previous,
                        key=key,
                        functions=funcs,
                        cumulative=cumulative,
                    )
                )
        return combine_rows(rows) if combine else rows

    def _subjects(
        self, tx: Tx, meter_ids: Sequence[str] | None, household_id: str | None
    ) -> tuple[str | None, list[str]]:
        if household_id is not None:
            zone = scalar(
                tx, "SELECT timezone FROM households WHERE household_id = ?", [household_id]
            )
            if zone is None:
                msg = f"household {household_id} is not known"
                raise RegistryError(msg)
            meters = tx.run(
                "SELECT meter_id FROM meters WHERE household_id = ? ORDER BY meter_id",
                [household_id],
            )
            wanted = set(meter_ids) if meter_ids is not None else None
            return zone, [m for (m,) in meters if wanted is None or m in wanted]
        if not meter_ids:
            msg = "aggregates need meter ids or a household"
            raise RegistryError(msg)
        zone = scalar(
            tx,
            "SELECT h.timezone FROM meters m JOIN households h ON h.household_id = m.household_id"
            " WHERE m.meter_id = ?",
            [meter_ids[0]],
        )
        return zone, list(meter_ids)

    def rebuild_rollups(self) -> None:
        """Recompute every rollup from the stored values (after a bulk import)."""
        with self._tx() as tx:
            tx.count("DELETE FROM rollups")
            meters = [m for (m,) in tx.run("SELECT DISTINCT meter_id FROM readings")]
            for meter in meters:
                stored = meter_readings(tx, meter)
                for width in WIDTHS:
                    self._replace_rollups(tx, readings_partials(stored, width))


class SqlRetention(SqlRole):
    """Retention and erasure (CL-13): readings, rollups and registry entries deleted."""

    def __init__(self, db: Database, *, recompute_dirty: Callable[[Tx], None]) -> None:
        super().__init__(db)
        self._recompute_dirty = recompute_dirty
        """Recomputes the rollups marked dirty (the readings role's, in the same transaction)."""

    # -- retention ----------------------------------------------------------------------------

    def _retention_groups(
        self, tx: Tx, policy: RetentionPolicy
    ) -> list[tuple[int, str, list[Any]]]:
        special: dict[str, int] = {}
        for meter, household, meter_class in tx.run(
            "SELECT m.meter_id, m.household_id, e.meter_class FROM meters m"
            " JOIN physical_elements e ON e.element_id = m.element_id"
        ):
            if household in policy.household_days:
                special[meter] = policy.household_days[household]
            elif meter_class in policy.meter_class_days:
                special[meter] = policy.meter_class_days[meter_class]
        by_days: dict[int, list[str]] = {}
        for meter, days in special.items():
            by_days.setdefault(days, []).append(meter)
        groups: list[tuple[int, str, list[Any]]] = [
            (days, f"meter_id IN {in_list(meters)}", list(meters))
            for days, meters in sorted(by_days.items())
        ]
        if policy.default_days is not None:
            others = sorted(special)
            where = f"meter_id NOT IN {in_list(others)}" if others else "1 = 1"
            groups.append((policy.default_days, where, others))
        return groups

    def _delete_before(self, tx: Tx, where: str, params: list[Any], cutoff: datetime) -> int:
        d = self.dialect
        for width in WIDTHS:
            whole = d.ts(cutoff - timedelta(seconds=width))
            tx.count(
                f"DELETE FROM rollups WHERE {where} AND width = ? AND bucket <= ?",  # noqa: S608
                [*params, width, whole],
            )
            tx.count(
                f"UPDATE rollups SET dirty = 1 WHERE {where} AND width = ? AND bucket > ?"  # noqa: S608
                " AND bucket < ?",
                [*params, width, whole, d.ts(cutoff)],
            )
        deleted = tx.count(f"DELETE FROM readings WHERE {where} AND t < ?", [*params, d.ts(cutoff)])  # noqa: S608
        self._recompute_dirty(tx)
        return deleted

    def apply_retention(self, policy: RetentionPolicy, *, now: datetime) -> RetentionReport:
        """Delete readings older than the policy allows (CL-13).

        The most specific rule wins: household, then meter class, then the default (which also
        covers meters the registry does not know). Readings are deleted in bulk per rule (no
        engine partitions them since the packed layout, so no partition is dropped).
        """
        deleted = 0
        with self._tx() as tx:
            for days, where, params in self._retention_groups(tx, policy):
                deleted += self._delete_before(tx, where, params, now - timedelta(days=days))
        return RetentionReport(readings_deleted=deleted)

    # -- erasure ------------------------------------------------------------------------------

    def _erase_meters(self, tx: Tx, meters: list[str]) -> dict[str, int]:
        rows: dict[str, int] = {}
        where = f"meter_id IN {in_list(meters)}"
        # the values are packed in their readings' rows; the view counts them
        rows["reading_values"] = int(
            tx.scalar(f"SELECT count(*) FROM reading_values WHERE {where}", meters)  # noqa: S608
        )
        for table in _ERASED_TABLES:
            rows[table] = tx.count(f"DELETE FROM {table} WHERE {where}", meters)  # noqa: S608
        rows["quarantine"] = sum(
            tx.count(
                "DELETE FROM quarantine WHERE topic LIKE ? ESCAPE '\\'",
                [f"%/smartMeterMessage/{_like_escape(m)}/%"],
            )
            for m in meters
        )
        rows["meters"] = tx.count(f"DELETE FROM meters WHERE {where}", meters)  # noqa: S608
        return rows

    def _audit(
        self, tx: Tx, actor: str, kind: str, subject: str, rows: dict[str, int]
    ) -> ErasureRecord:
        at = datetime.now(UTC)
        tx.count(
            "INSERT INTO erasure_audit (at, actor, subject_kind, subject_id, row_counts)"
            " VALUES (?, ?, ?, ?, ?)",
            [self.dialect.ts(at), actor, kind, subject, orjson.dumps(rows).decode()],
        )
        return ErasureRecord(actor=actor, subject_kind=kind, subject_id=subject, at=at, rows=rows)

    def erase_household(self, household_id: str, *, actor: str) -> ErasureRecord:
        """Erase a household, its meters and everything stored about them; audit it (CL-13)."""
        with self._tx() as tx:
            meters = [
                m
                for (m,) in tx.run(
                    "SELECT meter_id FROM meters WHERE household_id = ?", [household_id]
                )
            ]
            rows = self._erase_meters(tx, meters) if meters else {}
            for table in ("tariffs", "prices"):  # the household's own settings (migration 5)
                rows[table] = tx.count(
                    f"DELETE FROM {table} WHERE household_id = ?",  # noqa: S608
                    [household_id],
                )
            rows["households"] = tx.count(
                "DELETE FROM households WHERE household_id = ?", [household_id]
            )
            return self._audit(tx, actor, "household", household_id, rows)

    def erase_meter(self, meter_id: str, *, actor: str) -> ErasureRecord:
        """Erase one meter and everything stored about it; audit it (CL-13)."""
        with self._tx() as tx:
            rows = self._erase_meters(tx, [meter_id])
            return self._audit(tx, actor, "meter", meter_id, rows)

    def erasure_log(self) -> list[ErasureRecord]:
        """The audit records of every erasure, oldest first."""
        with self._tx() as tx:
            rows = tx.run(
                "SELECT aid, at, actor, subject_kind, subject_id, row_counts FROM erasure_audit"
                " ORDER BY aid"
            )
        return [
            ErasureRecord(
                actor=r.actor,
                subject_kind=r.subject_kind,
                subject_id=r.subject_id,
                at=self.dialect.dt(r.at),
                rows=orjson.loads(r.row_counts),
                record_id=int(r.aid),
            )
            for r in map(AuditRow._make, rows)
        ]
