"""The registry and erasure services over real stores (SQLite and PostgreSQL).

Requirement ids: DM-4..DM-6 (registry entries and their relations), CL-13 (erasure takes
everything about a meter, its broker credentials included, and is refused as a whole).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omdp.catalog import PropertyKind
from omdp.cloud.api.credentials import FileCredentialStore
from omdp.cloud.services.erasure import ErasureService
from omdp.cloud.services.registry import NotRegistered, RegistryService, Taken
from omdp.cloud.storage import ReadingStore
from omdp.cloud.storage.port import MissingReference
from omdp.domain.household import Household
from omdp.domain.reading import (
    MeterClass,
    MeterIndividual,
    OperationalPropertyDefinition,
    PhysicalMeterElement,
)
from omdp.errors import OmdpError

pytestmark = pytest.mark.integration

ELEMENT = PhysicalMeterElement(
    physical_element_id="el-svc",
    physical_meter_class=MeterClass.WATER,
    physical_meter_operational_properties=[OperationalPropertyDefinition(property_id="SVC_1")],
)


class Refused(OmdpError):
    """The caller may not erase (raised by the test's permission check)."""


@pytest.fixture
def store(store: ReadingStore) -> ReadingStore:
    """A fresh, migrated store of each backend with one household."""
    store.put_household(Household(household_id="h-1", timezone="UTC"))
    return store


def _meter(meter_id: str, household_id: str | None = "h-1") -> MeterIndividual:
    return MeterIndividual(
        meter_individual_id=meter_id, household_id=household_id, physical_meter_type=ELEMENT
    )


def test_dm4_dm5_dm6_creates_refuse_taken_ids_and_updates_unknown_ones(
    store: ReadingStore,
) -> None:
    """DM-4..DM-6: a second create of an id raises Taken, an update of an unknown id
    NotRegistered; neither changes what is stored."""
    registry = RegistryService(store)
    stored = registry.create_element(ELEMENT)
    assert [p.property_id for p in stored.physical_meter_operational_properties] == ["SVC_1"]
    with pytest.raises(Taken):
        registry.create_element(ELEMENT.model_copy(update={"physical_element_name": "other"}))
    assert store.get_element("el-svc") == stored
    definition = OperationalPropertyDefinition(property_id="SVC_2", allowed_units=["l"])
    registry.create_property(definition, PropertyKind.CUMULATIVE)
    with pytest.raises(Taken):
        registry.create_property(definition, PropertyKind.INSTANTANEOUS)
    assert store.property_kind("SVC_2") is PropertyKind.CUMULATIVE
    with pytest.raises(Taken):
        registry.create_household(Household(household_id="h-1", timezone="Europe/Rome"))
    with pytest.raises(NotRegistered):
        registry.update_household(Household(household_id="h-2", timezone="UTC"))
    assert store.get_household("h-2") is None
    with pytest.raises(NotRegistered):
        registry.update_meter(_meter("m-none"))
    with pytest.raises(NotRegistered):
        registry.move_meter("m-none", "c-1")


def test_dm6_a_meter_update_to_an_unknown_household_changes_nothing(
    store: ReadingStore,
) -> None:
    """DM-6: moving a meter to a household the registry does not hold is refused and the
    meter stays as it was."""
    registry = RegistryService(store)
    registry.create_meter(_meter("m-1"), concentrator_id="c-1")
    with pytest.raises(MissingReference) as refused:
        registry.update_meter(_meter("m-1", household_id="h-none"))
    assert refused.value.field == "householdId"
    meter = store.get_meter("m-1")
    assert meter is not None
    assert meter.household_id == "h-1"
    assert store.meter_site("m-1") == "c-1"


def test_cl13_erasure_forgets_the_meters_credentials(store: ReadingStore, tmp_path: Path) -> None:
    """CL-13: erasing a household removes its meters' broker credentials, and only theirs."""
    store.put_household(Household(household_id="h-2", timezone="UTC"))
    for meter_id, household in (("m-1", "h-1"), ("m-2", "h-1"), ("m-3", "h-2")):
        store.put_meter(_meter(meter_id, household))
    credentials = FileCredentialStore(tmp_path / "credentials.json")
    for meter_id in ("m-1", "m-2", "m-3"):
        credentials.put(meter_id, "hash")
    erasure = ErasureService(store, forget=credentials.remove)
    record = erasure.erase_household("h-1", actor="operator")
    assert record.rows["meters"] == 2
    assert [credentials.get(m) for m in ("m-1", "m-2", "m-3")] == [None, None, "hash"]
    assert store.get_household("h-1") is None
    with pytest.raises(NotRegistered):
        erasure.erase_household("h-1", actor="operator")


def test_cl13_a_refused_meter_erasure_erases_nothing(store: ReadingStore, tmp_path: Path) -> None:
    """CL-13: when the permission check refuses, the meter, its credentials and the audit
    log stay as they were; when it allows, all go and the erasure is audited."""
    store.put_meter(_meter("m-1"))
    credentials = FileCredentialStore(tmp_path / "credentials.json")
    credentials.put("m-1", "hash")
    erasure = ErasureService(store, forget=credentials.remove)
    seen: list[str | None] = []

    def refuse(household_id: str | None) -> None:
        seen.append(household_id)
        raise Refused(household_id)

    with pytest.raises(Refused):
        erasure.erase_meter("m-1", actor="alice", authorise=refuse)
    assert seen == ["h-1"]
    assert store.get_meter("m-1") is not None
    assert credentials.get("m-1") == "hash"
    assert store.erasure_log() == []
    erasure.erase_meter("m-1", actor="operator")
    assert store.get_meter("m-1") is None
    assert credentials.get("m-1") is None
    assert [(r.actor, r.subject_id) for r in store.erasure_log()] == [("operator", "m-1")]
