"""What the demo runs: two households, six simulated meters, their registry entries and ports.

The table :data:`METERS` is the whole site; everything else (simulators, adapter files,
registry, history) is derived from it. Household 1 has a 3-phase electricity meter and a water
meter on one wired M-Bus (TCP gateway); household 2 has a DSMR 5 meter (P1 over a TCP bridge)
and an SML eHZ meter with a PV system (optical head over TCP), both in Europe/Berlin, plus a
water and a heat meter by radio (encrypted wireless M-Bus through a simulated iM871A dongle on a
pseudo-terminal, one adapter for both).
Household 3 has an encrypted DLMS/COSEM meter as Austrian network operators install them: a
Kaifa MA309 pushing AES-GCM ciphered Data-Notifications in wired M-Bus frames (TCP bridge).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from omdp.adapter.config import load_profile
from omdp.catalog import Catalog
from omdp.domain.household import Household
from omdp.domain.reading import (
    MeterClass,
    MeterIndividual,
    OperationalPropertyDefinition,
    PhysicalMeterElement,
)

TIMEZONE: Final = "Europe/Berlin"
CONCENTRATOR_ID: Final = "demo-edge"
READING_INTERVAL_S: Final = 5.0
"""Seconds between live readings: real meters send every 1 to 900 s; 5 s keeps the demo lively."""

MeterKind = Literal["mbus", "dsmr", "sml", "dlms", "wmbus"]


@dataclass(frozen=True, slots=True)
class DemoHousehold:
    """One household of the demo."""

    household_id: str
    name: str
    description: str
    size: int


@dataclass(frozen=True, slots=True)
class DemoMeter:
    """One simulated meter, its adapter and its registry entries.

    Attributes:
        meter_id: the MeterIndividualId (also the adapter file's name).
        household_id: where the meter hangs.
        name: shown by the API and the app.
        kind: the meter's interface (simulator and adapter source).
        profile: the shipped adapter mapping profile.
        element_id: its PhysicalMeterElement.
        element_name: the element's name.
        meter_class: ELECTRICITY or WATER.
        seed: load-profile seed (the M-Bus meters share household 1's).
        pv_peak_w: PV production at noon, 0 for none.
        address: M-Bus primary address (M-Bus meters), radio id (wM-Bus meters).
    """

    meter_id: str
    household_id: str
    name: str
    kind: MeterKind
    profile: str
    element_id: str
    element_name: str
    meter_class: MeterClass
    seed: int
    pv_peak_w: float = 0.0
    address: str | None = None


HOUSEHOLDS: Final = (
    DemoHousehold("household-1", "Household 1 (M-Bus)", "Flat with M-Bus electricity and water", 2),
    DemoHousehold("household-2", "Household 2 (PV)", "House with a DSMR meter and PV on SML", 4),
    DemoHousehold(
        "household-3", "Household 3 (DLMS)", "Flat with an encrypted DLMS/COSEM smart meter", 3
    ),
)

METERS: Final = (
    DemoMeter(
        "h1-electricity", "household-1", "Electricity, 3-phase (M-Bus)", "mbus",
        "mbus-electricity-3phase", "demo-emh-mbus-3ph", "EMH 3-phase M-Bus meter",
        MeterClass.ELECTRICITY, seed=11, address="1",
    ),
    DemoMeter(
        "h1-water", "household-1", "Cold water (M-Bus)", "mbus", "mbus-water",
        "demo-zri-mbus-water", "Zenner M-Bus water meter", MeterClass.WATER, seed=11, address="2",
    ),
    DemoMeter(
        "h2-dsmr", "household-2", "Electricity (DSMR 5, P1)", "dsmr", "dsmr5",
        "demo-dsmr5", "DSMR 5.0 smart meter", MeterClass.ELECTRICITY, seed=22,
    ),
    DemoMeter(
        "h2-sml-pv", "household-2", "Electricity with PV feed-in (SML eHZ)", "sml", "sml-ehz",
        "demo-emh-ehz", "EMH eHZ SML meter", MeterClass.ELECTRICITY, seed=33, pv_peak_w=4200.0,
    ),
    DemoMeter(
        "h2-radio-water", "household-2", "Cold water (radio, wM-Bus)", "wmbus", "mbus-water",
        "demo-omd-radio-water", "OMS radio water meter", MeterClass.WATER, seed=22,
        address="51000001",
    ),
    DemoMeter(
        "h2-radio-heat", "household-2", "Heat (radio, wM-Bus)", "wmbus", "mbus-heat",
        "demo-omd-radio-heat", "OMS radio heat meter", MeterClass.HEAT, seed=22,
        address="51000002",
    ),
    DemoMeter(
        "h3-dlms", "household-3", "Electricity (DLMS/COSEM, AES-GCM)", "dlms", "dlms-kaifa-ma309",
        "demo-kaifa-ma309", "Kaifa MA309 DLMS meter", MeterClass.ELECTRICITY, seed=44,
    ),
)  # fmt: skip
RADIO_ADAPTER_ID: Final = "demo-radio-receiver"
"""The MeterIndividualId of the one adapter that listens to both radio meters."""


@dataclass(frozen=True, slots=True)
class Ports:
    """Where the demo listens; 0 picks a free port at start (meters only)."""

    mqtt: int = 1883
    http: int = 8080
    edge: int = 8081
    meters_from: int = 40100
    """M-Bus gateway on this port, DSMR bridge on +1, SML head on +2; 0: free ports."""

    def meter(self, kind: MeterKind) -> int:
        """The TCP port of a meter simulator (0: any free one)."""
        if kind == "dlms" and self.meters_from:  # the DLMS meter's bridge on +4
            return self.meters_from + 4
        if self.meters_from == 0:
            return 0
        return self.meters_from + ("mbus", "dsmr", "sml", "wmbus").index(kind)


def households() -> list[Household]:
    """The registry's households."""
    return [
        Household(
            household_id=h.household_id,
            household_name=h.name,
            household_description=h.description,
            timezone=TIMEZONE,
            household_size=h.size,
        )
        for h in HOUSEHOLDS
    ]


def element(meter: DemoMeter, catalog: Catalog) -> PhysicalMeterElement:
    """The PhysicalMeterElement of a meter: the properties its mapping profile provides (DM-5)."""
    properties = []
    for mapping in load_profile(meter.profile):
        entry = catalog.get(mapping.target)
        properties.append(
            entry.definition()
            if entry is not None
            else OperationalPropertyDefinition(property_id=mapping.target)
        )
    return PhysicalMeterElement(
        physical_element_id=meter.element_id,
        physical_element_name=meter.element_name,
        physical_element_description=f"Simulated {meter.kind.upper()} meter of the omdp demo",
        physical_element_version_id="demo-1",
        physical_meter_class=meter.meter_class,
        physical_meter_operational_properties=properties,
    )


def individual(meter: DemoMeter, catalog: Catalog) -> MeterIndividual:
    """The MeterIndividual of a meter (DM-6), with its element embedded."""
    return MeterIndividual(
        meter_individual_id=meter.meter_id,
        meter_individual_name=meter.name,
        meter_individual_description=f"Simulated, read every {READING_INTERVAL_S:g} s",
        household_id=meter.household_id,
        physical_meter_type=element(meter, catalog),
    )
