"""The registry part of the stores (DM-4..DM-6): households, properties, elements, meters.

An element lists the operational properties it provides (DM-5); a meter individual names its
element and its household (DM-6). Readings of meters the registry does not know are kept and
listed by :meth:`SqlRegistry.unknown_meters`, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from omdp.catalog import Catalog, PropertyKind
from omdp.cloud.model import MeterHealth, UnknownMeter
from omdp.cloud.storage.database import SqlRole, scalar
from omdp.cloud.storage.port import MissingReference, RegistryError
from omdp.cloud.storage.sqlbase import Tx, in_list
from omdp.domain.household import Household
from omdp.domain.reading import (
    MeterClass,
    MeterIndividual,
    OperationalPropertyDefinition,
    PhysicalMeterElement,
)

_PROP_UPSERT = (
    "INSERT INTO property_definitions (property_id, description, allowed_units, kind, catalogue)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (property_id) DO UPDATE SET"
    " description = excluded.description, allowed_units = excluded.allowed_units,"
    " kind = excluded.kind, catalogue = excluded.catalogue"
)
_PROP_KEEP = (
    "INSERT INTO property_definitions (property_id, description, allowed_units, kind, catalogue)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (property_id) DO NOTHING"
)


class _Taken(Exception):
    """Raised inside a create's transaction to roll it back: the id was taken meanwhile."""


def _prop_row(
    d: OperationalPropertyDefinition, kind: PropertyKind, catalogue: str | None
) -> tuple[Any, ...]:
    units = None if d.allowed_units is None else orjson.dumps(d.allowed_units).decode()
    return (d.property_id, d.property_description, units, kind.value, catalogue)


class PropertyRow(NamedTuple):
    """A row of ``property_definitions`` as the registry reads it."""

    property_id: str
    description: str | None
    allowed_units: str | None
    """JSON list of units, or NULL for any."""


class ElementRow(NamedTuple):
    """A row of ``physical_elements``."""

    element_id: str
    name: str | None
    description: str | None
    version: str | None
    is_virtual: int
    meter_class: str


class ElementPropertyRow(NamedTuple):
    """A property an element provides, joined to its definition."""

    element_id: str
    property_id: str
    description: str | None
    allowed_units: str | None


class MeterRow(NamedTuple):
    """A row of ``meters`` (without its site)."""

    meter_id: str
    name: str | None
    description: str | None
    household_id: str | None
    element_id: str


class HouseholdRow(NamedTuple):
    """A row of ``households``."""

    household_id: str
    name: str | None
    description: str | None
    timezone: str
    size: int | None


class SpanRow(NamedTuple):
    """How many readings a meter has, and the times of its first and last."""

    readings: int
    first: Any
    last: Any


def _definition(row: PropertyRow | ElementPropertyRow) -> OperationalPropertyDefinition:
    return OperationalPropertyDefinition(
        property_id=row.property_id,
        property_description=row.description,
        allowed_units=None if row.allowed_units is None else orjson.loads(row.allowed_units),
    )


class SqlRegistry(SqlRole):
    """The registry role (:class:`~omdp.cloud.storage.port.Registry`) in the shared SQL."""

    def seed_catalog(self, catalog: Catalog) -> None:
        """Insert the catalogue's properties that the registry does not hold yet."""
        rows = [_prop_row(e.definition(), e.kind, e.catalogue) for e in catalog]
        with self._tx() as tx:
            tx.many(_PROP_KEEP, rows)

    # -- households -----------------------------------------------------------------------------

    def put_household(self, household: Household) -> None:
        """Create or replace a household."""
        h = household
        with self._tx() as tx:
            tx.count(
                "INSERT INTO households (household_id, name, description, timezone, size)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (household_id) DO UPDATE SET"
                " name = excluded.name, description = excluded.description,"
                " timezone = excluded.timezone, size = excluded.size",
                [
                    h.household_id,
                    h.household_name,
                    h.household_description,
                    h.timezone,
                    h.household_size,
                ],
            )

    def create_household(self, household: Household) -> bool:
        """Add a household in one statement; False (nothing changed) when its id is taken.

        ``INSERT ... ON CONFLICT DO NOTHING`` against the primary key: of concurrent creates of
        one id exactly one inserts, whatever the engine.
        """
        h = household
        with self._tx() as tx:
            return (
                tx.count(
                    "INSERT INTO households (household_id, name, description, timezone, size)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (household_id) DO NOTHING",
                    [
                        h.household_id,
                        h.household_name,
                        h.household_description,
                        h.timezone,
                        h.household_size,
                    ],
                )
                > 0
            )

    _H = "SELECT household_id, name, description, timezone, size FROM households"

    @staticmethod
    def _household(row: HouseholdRow) -> Household:
        return Household(
            household_id=row.household_id,
            household_name=row.name,
            household_description=row.description,
            timezone=row.timezone,
            household_size=row.size,
        )

    def get_household(self, household_id: str) -> Household | None:
        """One household."""
        with self._tx() as tx:
            row = tx.one(f"{self._H} WHERE household_id = ?", [household_id])
        return None if row is None else self._household(HouseholdRow._make(row))

    def list_households(self) -> list[Household]:
        """Every household, by id."""
        with self._tx() as tx:
            rows = tx.run(f"{self._H} ORDER BY household_id")
        return [self._household(HouseholdRow._make(r)) for r in rows]

    # -- properties -------------------------------------------------------------------------------

    def put_property(
        self,
        definition: OperationalPropertyDefinition,
        *,
        kind: PropertyKind = PropertyKind.INSTANTANEOUS,
    ) -> None:
        """Create or replace an operational property definition (DM-4)."""
        with self._tx() as tx:
            tx.count(_PROP_UPSERT, _prop_row(definition, kind, "deployment"))

    def create_property(
        self,
        definition: OperationalPropertyDefinition,
        *,
        kind: PropertyKind = PropertyKind.INSTANTANEOUS,
    ) -> bool:
        """Add a deployment-level property (DM-4); False (nothing changed) when its id is
        taken."""
        with self._tx() as tx:
            row = _prop_row(definition, kind, "deployment")
            return tx.count(_PROP_KEEP, row) > 0

    def get_property(self, property_id: str) -> OperationalPropertyDefinition | None:
        """One operational property definition."""
        with self._tx() as tx:
            row = tx.one(
                "SELECT property_id, description, allowed_units FROM property_definitions"
                " WHERE property_id = ?",
                [property_id],
            )
        return None if row is None else _definition(PropertyRow._make(row))

    def property_kind(self, property_id: str) -> PropertyKind | None:
        """How a property's values behave over time (cumulative, instantaneous, ...)."""
        with self._tx() as tx:
            kind = scalar(
                tx, "SELECT kind FROM property_definitions WHERE property_id = ?", [property_id]
            )
        return None if kind is None else PropertyKind(kind)

    def list_properties(self) -> list[OperationalPropertyDefinition]:
        """Every operational property definition, by id."""
        with self._tx() as tx:
            rows = tx.run(
                "SELECT property_id, description, allowed_units FROM property_definitions"
                " ORDER BY property_id"
            )
        return [_definition(PropertyRow._make(r)) for r in rows]

    # -- physical meter elements ----------------------------------------------------------------

    def _put_element(self, tx: Tx, e: PhysicalMeterElement) -> None:
        props = e.physical_meter_operational_properties
        tx.many(_PROP_KEEP, [_prop_row(p, PropertyKind.INSTANTANEOUS, "element") for p in props])
        tx.count(
            "INSERT INTO physical_elements (element_id, name, description, version, is_virtual,"
            " meter_class) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (element_id) DO UPDATE SET"
            " name = excluded.name, description = excluded.description,"
            " version = excluded.version, is_virtual = excluded.is_virtual,"
            " meter_class = excluded.meter_class",
            [
                e.physical_element_id,
                e.physical_element_name,
                e.physical_element_description,
                e.physical_element_version_id,
                int(e.physical_element_is_virtual),
                e.physical_meter_class.value,
            ],
        )
        tx.count("DELETE FROM element_properties WHERE element_id = ?", [e.physical_element_id])
        tx.many(
            "INSERT INTO element_properties (element_id, property_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            [(e.physical_element_id, p.property_id) for p in props],
        )

    def _element_properties(self, tx: Tx, e: PhysicalMeterElement) -> None:
        props = e.physical_meter_operational_properties
        tx.many(_PROP_KEEP, [_prop_row(p, PropertyKind.INSTANTANEOUS, "element") for p in props])
        tx.many(
            "INSERT INTO element_properties (element_id, property_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            [(e.physical_element_id, p.property_id) for p in props],
        )

    def _insert_element(self, tx: Tx, e: PhysicalMeterElement) -> bool:
        """Insert an element and its properties unless its id is taken; True when inserted."""
        inserted = tx.count(
            "INSERT INTO physical_elements (element_id, name, description, version, is_virtual,"
            " meter_class) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (element_id) DO NOTHING",
            [
                e.physical_element_id,
                e.physical_element_name,
                e.physical_element_description,
                e.physical_element_version_id,
                int(e.physical_element_is_virtual),
                e.physical_meter_class.value,
            ],
        )
        if inserted:
            self._element_properties(tx, e)
        return inserted > 0

    def create_element(self, element: PhysicalMeterElement) -> bool:
        """Add a physical meter element and the properties it provides (DM-5), in one
        transaction; False (nothing changed) when its id is taken."""
        with self._tx() as tx:
            return self._insert_element(tx, element)

    def put_element(self, element: PhysicalMeterElement) -> None:
        """Create or replace a physical meter element and the properties it provides (DM-5)."""
        with self._tx() as tx:
            self._put_element(tx, element)

    def _elements(self, tx: Tx, ids: Iterable[str] | None) -> dict[str, PhysicalMeterElement]:
        sql = "SELECT element_id, name, description, version, is_virtual, meter_class"
        sql += " FROM physical_elements"
        params: list[str] = []
        if ids is not None:
            params = sorted(set(ids))
            sql += " WHERE element_id IN (" + ",".join("?" * len(params)) + ")"
            if not params:
                return {}
        heads = map(ElementRow._make, tx.run(sql + " ORDER BY element_id", params))
        props: dict[str, list[OperationalPropertyDefinition]] = {}
        for row in map(
            ElementPropertyRow._make,
            tx.run(
                "SELECT ep.element_id, p.property_id, p.description, p.allowed_units"
                " FROM element_properties ep JOIN property_definitions p"
                " ON p.property_id = ep.property_id ORDER BY ep.element_id, p.property_id"
            ),
        ):
            props.setdefault(row.element_id, []).append(_definition(row))
        return {
            h.element_id: PhysicalMeterElement(
                physical_element_id=h.element_id,
                physical_element_name=h.name,
                physical_element_description=h.description,
                physical_element_version_id=h.version,
                physical_element_is_virtual=bool(h.is_virtual),
                physical_meter_class=MeterClass(h.meter_class),
                physical_meter_operational_properties=props.get(h.element_id, []),
            )
            for h in heads
        }

    def get_element(self, element_id: str) -> PhysicalMeterElement | None:
        """One physical meter element, with its properties."""
        with self._tx() as tx:
            return self._elements(tx, [element_id]).get(element_id)

    def list_elements(self) -> list[PhysicalMeterElement]:
        """Every physical meter element, by id."""
        with self._tx() as tx:
            return list(self._elements(tx, None).values())

    # -- meter individuals ----------------------------------------------------------------------

    def put_meter(self, meter: MeterIndividual) -> None:
        """Create or replace a meter individual (DM-6).

        Raises:
            RegistryError: the meter names no element, or an element or household that the
                registry does not hold.
        """
        m = meter
        element = m.physical_meter_type
        if element is None:
            msg = f"meter {m.meter_individual_id} MUST name its PhysicalMeterElement (DM-6)"
            raise RegistryError(msg)
        with self._tx() as tx:
            listed = bool(element.physical_meter_operational_properties)
            if listed or not tx.one(
                "SELECT 1 FROM physical_elements WHERE element_id = ?",
                [element.physical_element_id],
            ):
                self._put_element(tx, element)
            if m.household_id is not None and not tx.one(
                "SELECT 1 FROM households WHERE household_id = ?", [m.household_id]
            ):
                msg = f"meter {m.meter_individual_id}: household {m.household_id} is not known"
                raise RegistryError(msg)
            tx.count(
                "INSERT INTO meters (meter_id, name, description, household_id, element_id)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (meter_id) DO UPDATE SET"
                " name = excluded.name, description = excluded.description,"
                " household_id = excluded.household_id, element_id = excluded.element_id",
                [
                    m.meter_individual_id,
                    m.meter_individual_name,
                    m.meter_individual_description,
                    m.household_id,
                    element.physical_element_id,
                ],
            )

    def create_meter(self, meter: MeterIndividual, *, concentrator_id: str | None = None) -> bool:
        """Add a meter individual (DM-6) with its site, in one transaction; False (nothing
        changed) when its id is taken. An embedded element is stored too when its id is new,
        or replaces the stored one when it lists properties (as :meth:`put_meter`).

        Raises:
            RegistryError: the meter names no element.
            MissingReference: its household is not known.
        """
        m = meter
        element = m.physical_meter_type
        try:
            with self._tx() as tx:
                if tx.one("SELECT 1 FROM meters WHERE meter_id = ?", [m.meter_individual_id]):
                    return False
                if m.household_id is not None and not tx.one(
                    "SELECT 1 FROM households WHERE household_id = ?", [m.household_id]
                ):
                    msg = f"no household {m.household_id!r}"
                    raise MissingReference(msg, field="householdId")
                if element is None:
                    msg = f"meter {m.meter_individual_id} MUST name its PhysicalMeterElement (DM-6)"
                    raise RegistryError(msg)
                if element.physical_meter_operational_properties:
                    self._put_element(tx, element)
                else:
                    self._insert_element(tx, element)
                inserted = tx.count(
                    "INSERT INTO meters (meter_id, name, description, household_id, element_id,"
                    " concentrator_id) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (meter_id) DO NOTHING",
                    [
                        m.meter_individual_id,
                        m.meter_individual_name,
                        m.meter_individual_description,
                        m.household_id,
                        element.physical_element_id,
                        concentrator_id,
                    ],
                )
                if not inserted:  # created by another transaction since the check above
                    raise _Taken
        except _Taken:
            return False
        return True

    def _meters(self, where: str, params: list[Any]) -> list[MeterIndividual]:
        with self._tx() as tx:
            rows = [
                MeterRow._make(r)
                for r in tx.run(
                    "SELECT meter_id, name, description, household_id, element_id FROM meters"  # noqa: S608
                    f" WHERE {where} ORDER BY meter_id",
                    params,
                )
            ]
            elements = self._elements(tx, [r.element_id for r in rows])
        return [
            MeterIndividual(
                meter_individual_id=r.meter_id,
                meter_individual_name=r.name,
                meter_individual_description=r.description,
                household_id=r.household_id,
                physical_meter_type=elements.get(r.element_id),
            )
            for r in rows
        ]

    def get_meter(self, meter_id: str) -> MeterIndividual | None:
        """One meter individual, with its element embedded."""
        found = self._meters("meter_id = ?", [meter_id])
        return found[0] if found else None

    def list_meters(self, *, household_id: str | None = None) -> list[MeterIndividual]:
        """Meter individuals, all or of one household, by id."""
        if household_id is None:
            return self._meters("1 = 1", [])
        return self._meters("household_id = ?", [household_id])

    # -- sites: which concentrator may speak for a meter (CL-14, CO-3) ---------------------------

    def set_meter_site(self, meter_id: str, concentrator_id: str | None) -> bool:
        """Make ``concentrator_id`` the site of ``meter_id`` (None: no site); False when the
        meter is not registered."""
        with self._tx() as tx:
            return (
                tx.count(
                    "UPDATE meters SET concentrator_id = ? WHERE meter_id = ?",
                    [concentrator_id, meter_id],
                )
                > 0
            )

    def meter_site(self, meter_id: str) -> str | None:
        """The concentrator that may speak for ``meter_id``, if it has one."""
        with self._tx() as tx:
            site = scalar(tx, "SELECT concentrator_id FROM meters WHERE meter_id = ?", [meter_id])
        return None if site is None else str(site)

    def meter_sites(self, *, concentrator_id: str | None = None) -> dict[str, str]:
        """``{meter id: concentrator id}`` of every meter with a site (or of one site)."""
        sql = "SELECT meter_id, concentrator_id FROM meters WHERE concentrator_id IS NOT NULL"
        params: list[str] = []
        if concentrator_id is not None:
            sql += " AND concentrator_id = ?"
            params.append(concentrator_id)
        with self._tx() as tx:
            return {str(m): str(c) for m, c in tx.run(sql + " ORDER BY meter_id", params)}

    def unknown_meters(self) -> list[UnknownMeter]:
        """Meters that have stored readings but are not in the registry."""
        d = self.dialect
        out = []
        with self._tx() as tx:
            ids = tx.run(
                "SELECT s.meter_id FROM seen_meters s LEFT JOIN meters m"
                " ON m.meter_id = s.meter_id WHERE m.meter_id IS NULL ORDER BY s.meter_id"
            )
            for (meter_id,) in ids:
                found = tx.one(
                    "SELECT count(*), min(t), max(t) FROM readings WHERE meter_id = ?", [meter_id]
                )
                span = None if found is None else SpanRow._make(found)
                if span is not None and span.readings:
                    out.append(
                        UnknownMeter(
                            meter_id, d.dt(span.first), d.dt(span.last), int(span.readings)
                        )
                    )
        return out

    def meter_health(
        self, *, since: datetime, meter_ids: Sequence[str] | None = None
    ) -> list[MeterHealth]:
        """Gap detection from sequence numbers: per meter, readings since ``since`` in time
        order; a number more than one above the one before counts the numbers between as
        missing, a number not above it as a restart. Readings without a number count as readings
        and are not checked."""
        d = self.dialect
        where, params = "t >= ?", [d.ts(since)]
        if meter_ids is not None:
            where += f" AND meter_id IN {in_list(meter_ids)}"
            params += list(meter_ids)
        sql = (  # ``where`` holds placeholders only
            "SELECT meter_id, count(*), max(t),"  # noqa: S608
            " sum(CASE WHEN prev IS NOT NULL AND seq > prev + 1 THEN seq - prev - 1 ELSE 0 END),"
            " sum(CASE WHEN prev IS NOT NULL AND seq <= prev THEN 1 ELSE 0 END), min(seq), max(seq)"
            " FROM (SELECT meter_id, t, seq,"
            " LAG(seq) OVER (PARTITION BY meter_id ORDER BY t, rid) AS prev"
            f" FROM readings WHERE {where}) s GROUP BY meter_id ORDER BY meter_id"
        )
        with self._tx() as tx:
            rows = tx.run(sql, params)
        return [
            MeterHealth(
                meter_id=str(meter),
                readings=int(count),
                last_reading=d.dt(last),
                missing=int(missing or 0),
                restarts=int(restarts or 0),
                first_sequence=None if first is None else int(first),
                last_sequence=None if final is None else int(final),
            )
            for meter, count, last, missing, restarts, first, final in rows
        ]
