"""The household a meter belongs to (DM-6): the unit that owns data and pays the bill."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field

from omdp.domain.identifiers import Identifier
from omdp.domain.reading import ShortText, SpecModel


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = f"unknown IANA timezone {name!r} (e.g. Europe/Berlin)"
        raise ValueError(msg) from exc
    return name


TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(_known_zone)]


class Household(SpecModel):
    """A household: its days, months and bills are counted in its own timezone."""

    household_id: Identifier
    household_name: ShortText | None = None
    household_description: Annotated[str, Field(max_length=4096)] | None = None
    timezone: TimeZoneName = Field(
        description="IANA timezone of the household, e.g. Europe/Berlin."
    )
    household_size: int | None = Field(default=None, ge=0, le=1000, description="Residents.")
