"""Seed data and helpers of the API tests: a cloud API over a real store, seeded with readings.

Seed: two households; ``h-one`` has meters ``m-a`` and ``m-b``, ``h-two`` has ``m-c``; each meter
sends 48 quarter-hourly readings on 2024-03-01 (UTC) with the OBIS import register, the import
power and a text status. Tokens: ``op`` (operate), ``owner1`` (owner of h-one, read+delete),
``res`` (researcher: read), ``reg`` (registry:write), ``none`` (no scope).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from omdp.auth.principal import hash_token
from omdp.auth.settings import ApiTokenGrant
from omdp.cloud.api.settings import ApiSettings
from omdp.cloud.model import StoredReading, StoredValue
from omdp.cloud.settings import CloudSettings
from omdp.cloud.storage import ReadingStore
from omdp.domain.household import Household
from omdp.domain.reading import (
    MeterClass,
    MeterIndividual,
    OperationalPropertyDefinition,
    PhysicalMeterElement,
)

with warnings.catch_warnings():
    # Starlette deprecates its TestClient on httpx (for httpx2, not installed): harmless here.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

DAY = datetime(2024, 3, 1, tzinfo=UTC)
STEPS = 48
METERS = {"m-a": "h-one", "m-b": "h-one", "m-c": "h-two"}
TOKENS = {
    "op": ApiTokenGrant(subject="operator", scopes=["operate"]),
    "owner1": ApiTokenGrant(
        subject="alice", scopes=["readings:read", "readings:delete"], household_id="h-one"
    ),
    "owner2": ApiTokenGrant(subject="bob", scopes=["readings:read"], household_id="h-two"),
    "res": ApiTokenGrant(subject="researcher", scopes=["readings:read"]),
    "reg": ApiTokenGrant(subject="installer", scopes=["registry:write"]),
    "none": ApiTokenGrant(subject="nobody", scopes=[]),
}
ELEMENT = PhysicalMeterElement(
    physical_element_id="el-3ph",
    physical_element_name="Three-phase meter",
    physical_meter_class=MeterClass.ELECTRICITY,
    physical_meter_operational_properties=[
        OperationalPropertyDefinition(property_id="OBIS_1.8.0"),
        OperationalPropertyDefinition(property_id="OBIS_1.7.0"),
    ],
)


def reading_id(meter: str, step: int) -> str:
    """The id of the seeded reading of ``meter`` at quarter-hour ``step``."""
    return f"r-{meter}-{step:03d}"


def seed(store: ReadingStore) -> None:
    """Registry and readings of the module docstring."""
    store.put_property(OperationalPropertyDefinition(property_id="SITE_status"))
    store.put_element(ELEMENT)
    for hid, zone in (("h-one", "Europe/Brussels"), ("h-two", "Europe/Berlin")):
        store.put_household(Household(household_id=hid, timezone=zone, household_size=2))
    for meter, hid in METERS.items():
        store.put_meter(
            MeterIndividual(
                meter_individual_id=meter, household_id=hid, physical_meter_type=ELEMENT
            )
        )
    readings = [
        StoredReading(
            reading_id=reading_id(meter, step),
            meter_id=meter,
            reading_time=DAY + timedelta(minutes=15 * step),
            values=(
                StoredValue("OBIS_1.8.0", 1000.0 + n * 100 + step * 0.25, unit="kWh"),
                StoredValue("OBIS_1.7.0", float(step % 4), unit="kW"),
                StoredValue("SITE_status", text_value="ok" if step % 2 else "check"),
            ),
        )
        for n, meter in enumerate(METERS)
        for step in range(STEPS)
    ]
    store.write_batch(readings)


@dataclass
class Api:
    """A test client and the store behind it."""

    client: TestClient
    store: ReadingStore
    settings: CloudSettings

    def as_(self, token: str) -> dict[str, str]:
        """Headers of a caller."""
        return {"Authorization": f"Bearer {token}"}


def make_settings(tmp_path: Path, url: str, **api: object) -> CloudSettings:
    """Cloud settings for tests: the tokens above, fixed keys, a small JSON limit."""
    return CloudSettings(
        db={"url": url},
        path_prefix="/api",
        api=ApiSettings(
            tokens={hash_token(t): g for t, g in TOKENS.items()},
            bulk_secret="test-bulk-secret",  # noqa: S106 - a test key
            pseudonym_key="test-pseudonym-key",
            credentials_file=tmp_path / "credentials.json",
            **api,
        ),
    )
