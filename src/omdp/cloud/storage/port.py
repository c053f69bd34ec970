"""The storage port of the cloud: small role Protocols, two adapters (SQLite, PostgreSQL).

Each role is one concern (reading writer, reading query, aggregates, registry, quarantine,
erasure, tariffs, energy); :class:`ReadingStore` is all of them, as the adapters implement it.
Services and routes depend on the roles they use. Every method is
synchronous and blocking: the API's routes are plain functions that FastAPI runs in its
thread pool; other async callers use ``asyncio.to_thread``. Adapters raise
:class:`~omdp.errors.StorageError` (or its :class:`RegistryError` subclass) and nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from omdp.catalog import PropertyKind
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
from omdp.cloud.storage.energy import MeterEnergy, Part
from omdp.cloud.storage.series import Series
from omdp.cloud.tariffs import MeterRole, PricePoint, Tariff
from omdp.domain.household import Household
from omdp.domain.reading import MeterIndividual, OperationalPropertyDefinition, PhysicalMeterElement
from omdp.errors import StorageError


class RegistryError(StorageError):
    """A registry change breaks the data model's relations (DM-4..DM-6)."""


class MissingReference(RegistryError):
    """A registry entry names another entry (a meter's household) that is not stored."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field
        """The referring field, by its API name (``householdId``)."""


class TariffStore(Protocol):
    """A household's tariff, price series and meter roles (APP-3)."""

    def get_tariff(self, household_id: str) -> Tariff | None:
        """The household's tariff, or None when none is set."""
        ...

    def put_tariff(self, household_id: str, tariff: Tariff) -> None:
        """Set (replace) the household's tariff."""
        ...

    def delete_tariff(self, household_id: str) -> bool:
        """Remove the household's tariff; False when it had none."""
        ...

    def put_prices(self, household_id: str, points: Sequence[PricePoint]) -> int:
        """Store a sorted price series, replacing the stored prices it spans."""
        ...

    def prices(
        self, household_id: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> list[PricePoint]:
        """The price points in ``[start, end)``, with the one in force at ``start`` first."""
        ...

    def delete_prices(self, household_id: str) -> int:
        """Remove the household's price series; returns how many points went."""
        ...

    def meter_roles(self, household_id: str) -> dict[str, MeterRole]:
        """The roles set for the household's meters."""
        ...

    def set_meter_roles(self, roles: Mapping[str, MeterRole]) -> None:
        """Set the roles of meters."""
        ...


class EnergyQuery(Protocol):
    """Energy from whatever a meter has, and decimated series, for the app (APP-1, APP-2)."""

    def energy_cells(
        self, pairs: Sequence[tuple[str, str]], *, start: datetime, end: datetime, width: int
    ) -> list[MeterEnergy]:
        """Each (meter, quantity)'s amount per fine bucket of ``width`` seconds, with its
        source (:mod:`omdp.cloud.storage.energy`)."""
        ...

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
        ...


class Lifecycle(Protocol):
    """The store's life: schema migrations and release."""

    def migrate(self) -> int:
        """Apply pending schema migrations, seed the catalogue; return the schema version."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


class ReadingWriter(Protocol):
    """Readings in (ingest of batches and quarantine entries, CL-1) and out (CL-11)."""

    def write_batch(
        self, readings: Sequence[StoredReading], quarantine: Sequence[QuarantineEntry] = ()
    ) -> WriteResult:
        """Store readings (skipping ids already stored) and quarantine entries in one commit.

        Rollups of the touched buckets are brought up to date in the same transaction.
        """
        ...

    def delete_reading(self, reading_id: str) -> bool:
        """Delete one reading (CL-11) and update its rollups; False when it was not there."""
        ...


class ReadingQuery(Protocol):
    """Stored readings, read (CL-3, CL-4) and checked for gaps."""

    def query_readings(
        self, flt: ReadingFilter, *, limit: int | None = None, offset: int = 0
    ) -> Iterator[StoredReading]:
        """Readings selected by ``flt`` in (reading_time, meter_id, reading_id) order, streamed."""
        ...

    def count_readings(self, flt: ReadingFilter) -> int:
        """How many readings ``flt`` selects."""
        ...

    def get_reading(self, reading_id: str) -> StoredReading | None:
        """One reading by its meterReadingIdentifier."""
        ...

    def meter_health(
        self, *, since: datetime, meter_ids: Sequence[str] | None = None
    ) -> list[MeterHealth]:
        """Per meter with readings since ``since``: count, newest, missing sequence numbers."""
        ...


class AggregateQuery(Protocol):
    """Rollups: buckets of one property per meter or household."""

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

        Days and months are local to ``timezone`` (default: the household's, else UTC).
        ``combine`` merges the meters into one row per bucket (``meter_id`` None).
        """
        ...

    def rebuild_rollups(self) -> None:
        """Recompute every rollup from the stored values (after a bulk import)."""
        ...


class Registry(Protocol):
    """Households, properties, elements, meters and their sites (DM-4..DM-6, CL-14)."""

    def create_household(self, household: Household) -> bool:
        """Add a household atomically; False (nothing changed) when its id is taken."""
        ...

    def put_household(self, household: Household) -> None:
        """Create or replace a household."""
        ...

    def get_household(self, household_id: str) -> Household | None:
        """One household."""
        ...

    def list_households(self) -> list[Household]:
        """Every household, by id."""
        ...

    def create_property(
        self,
        definition: OperationalPropertyDefinition,
        *,
        kind: PropertyKind = PropertyKind.INSTANTANEOUS,
    ) -> bool:
        """Add an operational property atomically; False (nothing changed) when its id is
        taken."""
        ...

    def put_property(
        self,
        definition: OperationalPropertyDefinition,
        *,
        kind: PropertyKind = PropertyKind.INSTANTANEOUS,
    ) -> None:
        """Create or replace an operational property definition (DM-4)."""
        ...

    def get_property(self, property_id: str) -> OperationalPropertyDefinition | None:
        """One operational property definition."""
        ...

    def property_kind(self, property_id: str) -> PropertyKind | None:
        """How a property's values behave over time (cumulative, instantaneous, ...)."""
        ...

    def list_properties(self) -> list[OperationalPropertyDefinition]:
        """Every operational property definition, by id."""
        ...

    def create_element(self, element: PhysicalMeterElement) -> bool:
        """Add a physical meter element and its properties atomically; False (nothing
        changed) when its id is taken."""
        ...

    def put_element(self, element: PhysicalMeterElement) -> None:
        """Create or replace a physical meter element and the properties it provides (DM-5)."""
        ...

    def get_element(self, element_id: str) -> PhysicalMeterElement | None:
        """One physical meter element, with its properties."""
        ...

    def list_elements(self) -> list[PhysicalMeterElement]:
        """Every physical meter element, by id."""
        ...

    def create_meter(self, meter: MeterIndividual, *, concentrator_id: str | None = None) -> bool:
        """Add a meter individual (and its site) atomically; False (nothing changed) when its
        id is taken.

        Raises:
            MissingReference: its household is not known.
        """
        ...

    def put_meter(self, meter: MeterIndividual) -> None:
        """Create or replace a meter individual (DM-6); its element and household must exist
        or be given (an embedded element is stored too).
        """
        ...

    def get_meter(self, meter_id: str) -> MeterIndividual | None:
        """One meter individual, with its element embedded."""
        ...

    def list_meters(self, *, household_id: str | None = None) -> list[MeterIndividual]:
        """Meter individuals, all or of one household, by id."""
        ...

    def unknown_meters(self) -> list[UnknownMeter]:
        """Meters that have stored readings but are not in the registry."""
        ...

    def set_meter_site(self, meter_id: str, concentrator_id: str | None) -> bool:
        """Make ``concentrator_id`` the site that may speak for ``meter_id`` (None: none);
        False when the meter is not registered."""
        ...

    def meter_site(self, meter_id: str) -> str | None:
        """The concentrator that may speak for ``meter_id``, if it has one."""
        ...

    def meter_sites(self, *, concentrator_id: str | None = None) -> dict[str, str]:
        """``{meter id: concentrator id}`` of every meter with a site (or of one site)."""
        ...


class Quarantine(Protocol):
    """Messages that failed validation, kept for inspection."""

    def list_quarantine(self, *, limit: int = 100, offset: int = 0) -> list[QuarantineEntry]:
        """Quarantined messages, oldest first."""
        ...

    def count_quarantine(self) -> int:
        """How many messages are in quarantine."""
        ...

    def quarantine_bytes(self) -> int:
        """How many payload bytes the quarantine holds."""
        ...

    def get_quarantine(self, entry_id: int) -> QuarantineEntry | None:
        """One quarantined message."""
        ...

    def delete_quarantine(self, entry_ids: Sequence[int] | None = None) -> int:
        """Delete the given entries (all when None); return how many were deleted."""
        ...


class Erasure(Protocol):
    """Deleting data by retention or on request, audited (CL-13)."""

    def apply_retention(self, policy: RetentionPolicy, *, now: datetime) -> RetentionReport:
        """Delete readings older than the policy allows (in bulk, per rule)."""
        ...

    def erase_household(self, household_id: str, *, actor: str) -> ErasureRecord:
        """Erase a household, its meters and everything stored about them; audit it."""
        ...

    def erase_meter(self, meter_id: str, *, actor: str) -> ErasureRecord:
        """Erase one meter and everything stored about it; audit it."""
        ...

    def erasure_log(self) -> list[ErasureRecord]:
        """The audit records of every erasure, oldest first."""
        ...


class UnitOfWork(Protocol):
    """The roles whose calls share one transaction (:meth:`ReadingStore.unit_of_work`)."""

    @property
    def registry(self) -> Registry:
        """The registry, in the unit's transaction."""
        ...

    @property
    def tariffs(self) -> TariffStore:
        """Tariffs, prices and meter roles, in the unit's transaction."""
        ...

    @property
    def erasure(self) -> Erasure:
        """Retention and erasure, in the unit's transaction."""
        ...


class Transactional(Protocol):
    """A store that runs several role calls in one transaction."""

    def unit_of_work(self) -> contextlib.AbstractContextManager[UnitOfWork]:
        """One transaction for several calls: they commit together when the block ends and
        roll back together when it raises. A call that raises inside the block undoes only its
        own writes (a savepoint). Inside the block, call the unit's roles, not the store (on
        SQLite the store's own calls would wait for the unit's transaction)."""
        ...


class ReadingStore(
    Transactional,
    Lifecycle,
    ReadingWriter,
    ReadingQuery,
    AggregateQuery,
    Registry,
    Quarantine,
    Erasure,
    TariffStore,
    EnergyQuery,
    Protocol,
):
    """Every role behind one object (what :func:`~omdp.cloud.storage.open_store` opens).

    Callers that need only some of it name the role (:class:`Registry`, :class:`ReadingQuery`,
    ...), so that what they use is visible in their signature.
    """
