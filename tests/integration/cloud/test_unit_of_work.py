"""The unit of work: several registry calls in one transaction, on both engines.

Requirement ids: DM-5 and DM-6 (an element and the meters of a household are stored whole or
not at all), CL-13 (an erasure and what goes with it commit together).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from omdp.cloud.storage import ReadingStore
from omdp.cloud.storage.port import UnitOfWork
from omdp.domain.household import Household
from omdp.domain.reading import (
    MeterClass,
    MeterIndividual,
    OperationalPropertyDefinition,
    PhysicalMeterElement,
)

pytestmark = pytest.mark.integration

ELEMENT = PhysicalMeterElement(
    physical_element_id="el-uow",
    physical_meter_class=MeterClass.ELECTRICITY,
    physical_meter_operational_properties=[OperationalPropertyDefinition(property_id="UOW_1")],
)


class Boom(Exception):
    """Raised by a test inside a unit of work."""


def _then_raise(store: ReadingStore, calls: Callable[[UnitOfWork], object]) -> None:
    """Run ``calls`` in a unit of work whose block then raises :class:`Boom`."""
    with store.unit_of_work() as uow:
        calls(uow)
        raise Boom


def _meter(meter_id: str, household_id: str = "h-uow") -> MeterIndividual:
    return MeterIndividual(
        meter_individual_id=meter_id, household_id=household_id, physical_meter_type=ELEMENT
    )


def test_dm6_a_unit_of_work_commits_its_calls_together(store: ReadingStore) -> None:
    """DM-6: a household and its meters created in one unit are all there afterwards."""
    with store.unit_of_work() as uow:
        assert uow.registry.create_household(Household(household_id="h-uow", timezone="UTC"))
        assert uow.registry.create_meter(_meter("m-1"), concentrator_id="c-1")
        assert uow.registry.create_meter(_meter("m-2"))
        assert not uow.registry.create_meter(_meter("m-2"))  # taken within the same unit
    assert [m.meter_individual_id for m in store.list_meters(household_id="h-uow")] == [
        "m-1",
        "m-2",
    ]
    assert store.meter_site("m-1") == "c-1"


def test_dm5_dm6_a_unit_of_work_that_raises_leaves_nothing(store: ReadingStore) -> None:
    """DM-5, DM-6: when the block raises, none of its writes stays, not even an element
    stored along with a meter."""

    def calls(uow: UnitOfWork) -> None:
        uow.registry.create_household(Household(household_id="h-uow", timezone="UTC"))
        uow.registry.create_meter(_meter("m-1"))

    with pytest.raises(Boom):
        _then_raise(store, calls)
    assert store.get_household("h-uow") is None
    assert store.get_meter("m-1") is None
    assert store.get_element("el-uow") is None


def test_dm6_a_failed_call_in_a_unit_rolls_back_only_itself(store: ReadingStore) -> None:
    """DM-6: a create refused inside a unit (unknown household) undoes its own writes, the
    unit's other writes commit."""
    with store.unit_of_work() as uow:
        uow.registry.create_household(Household(household_id="h-uow", timezone="UTC"))
        with pytest.raises(Exception, match="no household"):
            uow.registry.create_meter(_meter("m-x", household_id="h-none"))
        uow.registry.create_meter(_meter("m-1"))
    assert store.get_meter("m-x") is None
    assert store.get_meter("m-1") is not None


def test_cl13_erasure_in_a_unit_of_work_is_audited_with_it(store: ReadingStore) -> None:
    """CL-13: an erasure run in a unit commits with its audit record; a raising unit keeps
    both the data and the log as they were."""
    store.put_household(Household(household_id="h-uow", timezone="UTC"))
    store.put_meter(_meter("m-1"))
    with pytest.raises(Boom):
        _then_raise(store, lambda uow: uow.erasure.erase_meter("m-1", actor="tester"))
    assert store.get_meter("m-1") is not None
    assert store.erasure_log() == []
    with store.unit_of_work() as uow:
        record = uow.erasure.erase_meter("m-1", actor="tester")
    assert store.get_meter("m-1") is None
    assert [r.subject_id for r in store.erasure_log()] == [record.subject_id]
