"""Erasure of a household or a meter (CL-13): the data, the registry entries and the meters'
broker credentials, audited.

The check that the subject exists, the caller's permission (given as a callback that sees the
subject's household) and the erasure run in one unit of work; the credentials are forgotten
once it has committed.
"""

from __future__ import annotations

from collections.abc import Callable

from omdp.cloud.model import ErasureRecord
from omdp.cloud.services.registry import NotRegistered
from omdp.cloud.storage.port import Transactional

Forget = Callable[[str], object]
"""Forgets the broker credentials of a meter id (the API's credential store)."""


def _keep(_meter_id: str) -> None:
    """No credential store: nothing to forget."""


def _anyone(_household_id: str | None) -> None:
    """No permission check (the command line's operator)."""


class ErasureService:
    """Erasures, each with its audit record and the credentials of the erased meters."""

    def __init__(self, store: Transactional, *, forget: Forget = _keep) -> None:
        self.store = store
        self.forget = forget

    def erase_household(self, household_id: str, *, actor: str) -> ErasureRecord:
        """Erase a household, its meters and everything stored about them.

        Raises:
            NotRegistered: no household has this id.
        """
        with self.store.unit_of_work() as uow:
            if uow.registry.get_household(household_id) is None:
                msg = f"no household {household_id!r}"
                raise NotRegistered(msg)
            meters = [
                m.meter_individual_id for m in uow.registry.list_meters(household_id=household_id)
            ]
            record = uow.erasure.erase_household(household_id, actor=actor)
        for meter_id in meters:
            self.forget(meter_id)
        return record

    def erase_meter(
        self,
        meter_id: str,
        *,
        actor: str,
        authorise: Callable[[str | None], None] = _anyone,
    ) -> ErasureRecord:
        """Erase one meter and everything stored about it; ``authorise`` sees the meter's
        household first and raises to refuse.

        Raises:
            NotRegistered: no meter has this id.
        """
        with self.store.unit_of_work() as uow:
            meter = uow.registry.get_meter(meter_id)
            if meter is None:
                msg = f"no meter individual {meter_id!r}"
                raise NotRegistered(msg)
            authorise(meter.household_id)
            record = uow.erasure.erase_meter(meter_id, actor=actor)
        self.forget(meter_id)
        return record
