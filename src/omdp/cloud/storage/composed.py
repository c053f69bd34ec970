"""A store composed of its roles: one object per role around one shared database.

:class:`ComposedStore` holds the roles of :mod:`omdp.cloud.storage.registry`,
:mod:`omdp.cloud.storage.tariffs` and :mod:`omdp.cloud.storage.lifecycle`, each built on the
engine's :class:`~omdp.cloud.storage.database.Database`, and answers the flat
:class:`~omdp.cloud.storage.port.ReadingStore` by delegating to them, so that callers may use
either ``store.put_meter(...)`` or ``store.registry.put_meter(...)``. The readings role is the
engine's own (its bulk write); every other role is the shared SQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from omdp.catalog import Catalog, PropertyKind
from omdp.cloud.model import (
    ALL_FUNCTIONS,
    AggregateFunction,
    AggregateRow,
    ErasureRecord,
    Interval,
    MeterHealth,
    QuarantineEntry,
    ReadingFilter,
    RetentionPolicy,
    RetentionReport,
    StoredReading,
    UnknownMeter,
    WriteResult,
)
from omdp.cloud.storage.database import Database, unit_of_work
from omdp.cloud.storage.energy import MeterEnergy, Part, SqlEnergy
from omdp.cloud.storage.lifecycle import SqlAggregates, SqlRetention, SqlSchema
from omdp.cloud.storage.registry import SqlRegistry
from omdp.cloud.storage.series import Series, SqlSeries
from omdp.cloud.storage.sqlbase import SqlReadings, Tx
from omdp.cloud.storage.tariffs import SqlTariffs
from omdp.cloud.tariffs import MeterRole, PricePoint, Tariff
from omdp.domain.household import Household
from omdp.domain.reading import MeterIndividual, OperationalPropertyDefinition, PhysicalMeterElement


@dataclass(frozen=True, slots=True)
class Work:
    """The roles of one unit of work, all in its transaction
    (:class:`~omdp.cloud.storage.port.UnitOfWork`)."""

    registry: SqlRegistry
    tariffs: SqlTariffs
    erasure: SqlRetention


class ComposedStore:
    """The roles of a store over one database, and the flat port delegating to them."""

    def __init__(
        self,
        db: Database,
        readings: SqlReadings,
        *,
        migrations: Sequence[tuple[int, str, str]],
        catalog: Catalog | None,
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.migrations = migrations
        self.readings = readings
        """Readings in and out, and the quarantine (one engine's SQL)."""
        self.energy = SqlEnergy(db)
        self.charts = SqlSeries(db)
        self.registry = SqlRegistry(db)
        self.tariffs = SqlTariffs(db)
        self.rollups = SqlAggregates(db, replace_rollups=readings.replace_rollups)
        self.retention = SqlRetention(db, recompute_dirty=readings.recompute_dirty)
        self.schema = SqlSchema(db, migrations=migrations, catalog=catalog, registry=self.registry)

    def _tx(self) -> contextlib.AbstractContextManager[Tx]:
        """A transaction of the shared database (for tools and tests that need raw SQL)."""
        return self.db.tx()

    def _work(self, db: Database) -> Work:
        return Work(
            registry=SqlRegistry(db),
            tariffs=SqlTariffs(db),
            erasure=SqlRetention(db, recompute_dirty=self.readings.recompute_dirty),
        )

    def unit_of_work(self) -> contextlib.AbstractContextManager[Work]:
        """One transaction for several role calls (commit at the end, roll back on error)."""
        return unit_of_work(self.db, self._work)

    def meter_health(
        self, *, since: datetime, meter_ids: Sequence[str] | None = None
    ) -> list[MeterHealth]:
        """Per meter with readings since ``since``: count, newest, missing sequence numbers."""
        return self.registry.meter_health(since=since, meter_ids=meter_ids)

    # -- ReadingWriter: readings ---------------------------------------------

    def write_batch(
        self, readings: Sequence[StoredReading], quarantine: Sequence[QuarantineEntry] = ()
    ) -> WriteResult:
        """Store readings (skipping ids already stored) and quarantine entries in one commit."""
        return self.readings.write_batch(readings, quarantine)

    def delete_reading(self, reading_id: str) -> bool:
        """Delete one reading (CL-11) and update its rollups; False when it was not there."""
        return self.readings.delete_reading(reading_id)

    # -- ReadingQuery: readings ----------------------------------------------

    def query_readings(
        self, flt: ReadingFilter, *, limit: int | None = None, offset: int = 0
    ) -> Iterator[StoredReading]:
        """Readings selected by ``flt`` in (reading_time, meter_id, reading_id) order, streamed."""
        return self.readings.query_readings(flt, limit=limit, offset=offset)

    def count_readings(self, flt: ReadingFilter) -> int:
        """How many readings ``flt`` selects."""
        return self.readings.count_readings(flt)

    def get_reading(self, reading_id: str) -> StoredReading | None:
        """One reading by its meterReadingIdentifier."""
        return self.readings.get_reading(reading_id)

    # -- Quarantine: readings ------------------------------------------------

    def list_quarantine(self, *, limit: int = 100, offset: int = 0) -> list[QuarantineEntry]:
        """Quarantined messages, oldest first."""
        return self.readings.list_quarantine(limit=limit, offset=offset)

    def count_quarantine(self) -> int:
        """How many messages are in quarantine."""
        return self.readings.count_quarantine()

    def quarantine_bytes(self) -> int:
        """How many payload bytes the quarantine holds."""
        return self.readings.quarantine_bytes()

    def get_quarantine(self, entry_id: int) -> QuarantineEntry | None:
        """One quarantined message."""
        return self.readings.get_quarantine(entry_id)

    def delete_quarantine(self, entry_ids: Sequence[int] | None = None) -> int:
        """Delete the given entries (all when None); return how many were deleted."""
        return self.readings.delete_quarantine(entry_ids)

    # -- EnergyQuery: energy -------------------------------------------------

    def energy_cells(
        self, pairs: Sequence[tuple[str, str]], *, start: datetime, end: datetime, width: int
    ) -> list[MeterEnergy]:
        """Each (meter, quantity)'s amount per fine bucket of ``width`` seconds, with its
        source (:mod:`omdp.cloud.storage.energy`)."""
        return self.energy.energy_cells(pairs, start=start, end=end, width=width)

    def series(
        self,
        meter_id: str,
        candidates: Sequence[tuple[str, Part]],
        *,
        start: datetime,
        end: datetime,
        points: int,
    ) -> tuple[str, Part, Series] | None:
        """The first of ``candidates`` (property, part) the meter has, decimated to ``points``
        pixels (:mod:`omdp.cloud.storage.series`); None when it has none."""
        return self.charts.series(meter_id, candidates, start=start, end=end, points=points)

    # -- Lifecycle: schema ---------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply pending schema migrations, seed the catalogue; return the schema version."""
        return self.schema.migrate()

    def seed_catalog(self, catalog: Catalog) -> None:
        """Insert the catalogue's properties that the registry does not hold yet."""
        self.registry.seed_catalog(catalog)

    # -- AggregateQuery: rollups ---------------------------------------------
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
        """Buckets of one property in ``[start, end)`` for meters or a household's meters."""
        return self.rollups.aggregates(
            property_id=property_id,
            interval=interval,
            start=start,
            end=end,
            meter_ids=meter_ids,
            household_id=household_id,
            functions=functions,
            timezone=timezone,
            combine=combine,
        )

    def rebuild_rollups(self) -> None:
        """Recompute every rollup from the stored values (after a bulk import)."""
        self.rollups.rebuild_rollups()

    # -- Registry: registry --------------------------------------------------
    def create_household(self, household: Household) -> bool:
        """Add a household atomically; False (nothing changed) when its id is taken."""
        return self.registry.create_household(household)

    def put_household(self, household: Household) -> None:
        """Create or replace a household."""
        self.registry.put_household(household)

    def get_household(self, household_id: str) -> Household | None:
        """One household."""
        return self.registry.get_household(household_id)

    def list_households(self) -> list[Household]:
        """Every household, by id."""
        return self.registry.list_households()

    def create_property(
        self,
        definition: OperationalPropertyDefinition,
        *,
        kind: PropertyKind = PropertyKind.INSTANTANEOUS,
    ) -> bool:
        """Add an operational property atomically; False (nothing changed) when its id is
        taken."""
        return self.registry.create_property(definition, kind=kind)

    def put_property(
        self,
        definition: OperationalPropertyDefinition,
        *,
        kind: PropertyKind = PropertyKind.INSTANTANEOUS,
    ) -> None:
        """Create or replace an operational property definition (DM-4)."""
        self.registry.put_property(definition, kind=kind)

    def get_property(self, property_id: str) -> OperationalPropertyDefinition | None:
        """One operational property definition."""
        return self.registry.get_property(property_id)

    def property_kind(self, property_id: str) -> PropertyKind | None:
        """How a property's values behave over time (cumulative, instantaneous, ...)."""
        return self.registry.property_kind(property_id)

    def list_properties(self) -> list[OperationalPropertyDefinition]:
        """Every operational property definition, by id."""
        return self.registry.list_properties()

    def create_element(self, element: PhysicalMeterElement) -> bool:
        """Add a physical meter element and its properties atomically; False (nothing
        changed) when its id is taken."""
        return self.registry.create_element(element)

    def put_element(self, element: PhysicalMeterElement) -> None:
        """Create or replace a physical meter element and the properties it provides (DM-5)."""
        self.registry.put_element(element)

    def get_element(self, element_id: str) -> PhysicalMeterElement | None:
        """One physical meter element, with its properties."""
        return self.registry.get_element(element_id)

    def list_elements(self) -> list[PhysicalMeterElement]:
        """Every physical meter element, by id."""
        return self.registry.list_elements()

    def create_meter(self, meter: MeterIndividual, *, concentrator_id: str | None = None) -> bool:
        """Add a meter individual (and its site) atomically; False (nothing changed) when its
        id is taken."""
        return self.registry.create_meter(meter, concentrator_id=concentrator_id)

    def put_meter(self, meter: MeterIndividual) -> None:
        """Create or replace a meter individual (DM-6); its element and household must exist
        or be given (an embedded element is stored too)."""
        self.registry.put_meter(meter)

    def get_meter(self, meter_id: str) -> MeterIndividual | None:
        """One meter individual, with its element embedded."""
        return self.registry.get_meter(meter_id)

    def list_meters(self, *, household_id: str | None = None) -> list[MeterIndividual]:
        """Meter individuals, all or of one household, by id."""
        return self.registry.list_meters(household_id=household_id)

    def unknown_meters(self) -> list[UnknownMeter]:
        """Meters that have stored readings but are not in the registry."""
        return self.registry.unknown_meters()

    def set_meter_site(self, meter_id: str, concentrator_id: str | None) -> bool:
        """Make ``concentrator_id`` the site that may speak for ``meter_id`` (None: none);
        False when the meter is not registered."""
        return self.registry.set_meter_site(meter_id, concentrator_id)

    def meter_site(self, meter_id: str) -> str | None:
        """The concentrator that may speak for ``meter_id``, if it has one."""
        return self.registry.meter_site(meter_id)

    def meter_sites(self, *, concentrator_id: str | None = None) -> dict[str, str]:
        """``{meter id: concentrator id}`` of every meter with a site (or of one site)."""
        return self.registry.meter_sites(concentrator_id=concentrator_id)

    # -- Erasure: retention --------------------------------------------------
    def apply_retention(self, policy: RetentionPolicy, *, now: datetime) -> RetentionReport:
        """Delete readings older than the policy allows (in bulk, per rule)."""
        return self.retention.apply_retention(policy, now=now)

    def erase_household(self, household_id: str, *, actor: str) -> ErasureRecord:
        """Erase a household, its meters and everything stored about them; audit it."""
        return self.retention.erase_household(household_id, actor=actor)

    def erase_meter(self, meter_id: str, *, actor: str) -> ErasureRecord:
        """Erase one meter and everything stored about it; audit it."""
        return self.retention.erase_meter(meter_id, actor=actor)

    def erasure_log(self) -> list[ErasureRecord]:
        """The audit records of every erasure, oldest first."""
        return self.retention.erasure_log()

    # -- TariffStore: tariffs ------------------------------------------------
    def get_tariff(self, household_id: str) -> Tariff | None:
        """The household's tariff, or None when none is set."""
        return self.tariffs.get_tariff(household_id)

    def put_tariff(self, household_id: str, tariff: Tariff) -> None:
        """Set (replace) the household's tariff."""
        self.tariffs.put_tariff(household_id, tariff)

    def delete_tariff(self, household_id: str) -> bool:
        """Remove the household's tariff; False when it had none."""
        return self.tariffs.delete_tariff(household_id)

    def put_prices(self, household_id: str, points: Sequence[PricePoint]) -> int:
        """Store a sorted price series, replacing the stored prices it spans."""
        return self.tariffs.put_prices(household_id, points)

    def prices(
        self, household_id: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> list[PricePoint]:
        """The price points in ``[start, end)``, with the one in force at ``start`` first."""
        return self.tariffs.prices(household_id, start=start, end=end)

    def delete_prices(self, household_id: str) -> int:
        """Remove the household's price series; returns how many points went."""
        return self.tariffs.delete_prices(household_id)

    def meter_roles(self, household_id: str) -> dict[str, MeterRole]:
        """The roles set for the household's meters."""
        return self.tariffs.meter_roles(household_id)

    def set_meter_roles(self, roles: Mapping[str, MeterRole]) -> None:
        """Set the roles of meters."""
        self.tariffs.set_meter_roles(roles)
