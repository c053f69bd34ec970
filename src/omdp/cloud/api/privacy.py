"""Privacy rules of the API (CL-8, CL-9, CL-13): who sees which meters, and under which names.

- A caller *entitled* to a result sees real meter ids and any number of rows: an ``operate``
  caller always; a household owner (a principal with ``household_id``) for results that hold
  only meters of their household. An owner's queries are confined to that household (CL-9).
- Every other caller (a researcher) sees meter ids as keyed pseudonyms (``pseu-`` + 32 hex
  digits of HMAC-SHA256 of the meter id under a server key, stable per meter), must name meters
  by those pseudonyms, and is refused (403, ``privacy.too_few_rows``) any result of fewer than
  ``min_result_rows`` (20) readings (CL-8).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from omdp.auth.principal import Principal
from omdp.cloud.api.errors import Forbidden, NotFound
from omdp.cloud.storage.port import Registry

PREFIX = "pseu-"


class Pseudonymiser:
    """Keyed, stable, one-way names for meter ids."""

    def __init__(self, key: bytes) -> None:
        """Use ``key`` (kept secret on the server) for every pseudonym."""
        self._key = key

    def __call__(self, meter_id: str) -> str:
        """The pseudonym of ``meter_id``."""
        digest = hmac.new(self._key, meter_id.encode(), hashlib.sha256).hexdigest()
        return PREFIX + digest[:32]

    def resolve(self, pseudonyms: Iterable[str], meter_ids: Iterable[str]) -> list[str]:
        """The real ids among ``meter_ids`` whose pseudonyms are in ``pseudonyms``."""
        wanted = set(pseudonyms)
        return sorted(m for m in meter_ids if self(m) in wanted)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which meters a request covers and how its answer is shown.

    Attributes:
        meter_ids: The meters selected (None: every meter).
        entitled: Real ids and no minimum result size (owner of the data, or operator).
    """

    meter_ids: tuple[str, ...] | None
    entitled: bool


def known_meters(store: Registry) -> list[str]:
    """Every meter id the store knows: registered ones and unregistered senders."""
    ids = {m.meter_individual_id for m in store.list_meters()}
    ids.update(u.meter_id for u in store.unknown_meters())
    return sorted(ids)


def select_meters(
    store: Registry,
    principal: Principal,
    pseudonymise: Pseudonymiser,
    *,
    meter_ids: Sequence[str] | None,
    household_id: str | None,
    loc: str = "$",
) -> Scope:
    """The meters a request of ``principal`` covers, after the privacy rules.

    Raises:
        Forbidden: a researcher names a household, or an owner another household.
        NotFound: the household named does not exist.
    """
    if principal.operator:
        chosen = _household_meters(store, household_id, loc) if household_id else None
        if meter_ids is not None:
            chosen = tuple(m for m in meter_ids if chosen is None or m in chosen)
        return Scope(chosen, entitled=True)
    if principal.household_id is not None:
        if household_id is not None and household_id != principal.household_id:
            msg = "a household owner may only ask about their own household"
            raise Forbidden(msg, loc=f"{loc}.householdId", kind="privacy.other_household")
        own = _household_meters(store, principal.household_id, loc)
        if meter_ids is not None:
            own = tuple(m for m in own if m in set(meter_ids))
        return Scope(own, entitled=True)
    if household_id is not None:
        msg = "households can only be named by their owner or an operator (CL-13)"
        raise Forbidden(msg, loc=f"{loc}.householdId", kind="privacy.household")
    if meter_ids is None:
        return Scope(None, entitled=False)
    return Scope(tuple(pseudonymise.resolve(meter_ids, known_meters(store))), entitled=False)


def _household_meters(store: Registry, household_id: str, loc: str) -> tuple[str, ...]:
    if store.get_household(household_id) is None:
        msg = f"no household {household_id!r}"
        raise NotFound(msg, loc=f"{loc}.householdId")
    return tuple(m.meter_individual_id for m in store.list_meters(household_id=household_id))


def require_enough_rows(rows: int, minimum: int, scope: Scope) -> None:
    """Refuse a result of fewer than ``minimum`` rows to a caller not entitled to it (CL-8).

    Raises:
        Forbidden: with kind ``privacy.too_few_rows``.
    """
    if not scope.entitled and rows < minimum:
        msg = (
            f"the result holds {rows} readings, fewer than {minimum}: refused for privacy "
            "(CL-8); widen the time span or the meters"
        )
        raise Forbidden(msg, kind="privacy.too_few_rows")
