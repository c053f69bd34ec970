"""Decoded meter values shared by the DSMR P1 and SML decoders.

A decoder turns bytes into a :class:`Telegram`: who sent it, when, and a tuple of
:class:`ObisValue`. Numbers stay exact: registers are :class:`decimal.Decimal` (or ``int``) as the
meter wrote them; :meth:`ObisValue.to_json` renders them as JSON numbers (a double holds every real
register of 15 significant digits or fewer exactly as printed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from omdp.domain.obis import ObisCode

#: the value types a decoder may put in :attr:`ObisValue.value`
Value = Decimal | float | int | str

Protocol = Literal["dsmr", "sml", "dlms", "d0"]


def json_number(value: Value) -> float | int | str:
    """Render a decoded value for JSON: Decimals become numbers, the rest stays.

    Args:
        value: a decoded value.

    Returns:
        ``int`` for integral values without decimals, ``float`` for other Decimals, else as given.
    """
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and value.as_tuple().exponent == 0:
            return int(value)
        return float(value)
    return value


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True, slots=True)
class ObisValue:
    """One value a meter reported.

    Attributes:
        obis: the OBIS code of the quantity.
        value: exact value: Decimal or int for numbers, str for identifiers and texts.
        unit: normalised unit spelling (``kWh``, ``kW``, ``V``, ``A``, ``m3``, ``Wh``, ``W``...).
        timestamp: aware capture time, where the meter gives one for this value.
        channel: DSMR M-Bus channel of a gas/water sub-meter (OBIS group B), else None.
    """

    obis: ObisCode
    value: Value
    unit: str | None = None
    timestamp: datetime | None = None
    channel: int | None = None

    def __post_init__(self) -> None:
        if self.timestamp is not None and self.timestamp.utcoffset() is None:
            msg = f"timestamp of {self.obis} must be timezone-aware"
            raise ValueError(msg)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (timestamp ISO 8601 with offset, numbers as numbers)."""
        return {
            "obis": str(self.obis),
            "propertyId": self.obis.property_id,
            "value": json_number(self.value),
            "unit": self.unit,
            "timestamp": _iso(self.timestamp),
            "channel": self.channel,
        }


@dataclass(frozen=True, slots=True)
class Telegram:
    """One decoded telegram (DSMR) or SML file.

    Attributes:
        protocol: ``"dsmr"`` or ``"sml"``.
        meter_id: the meter's identifier (DSMR 0-0:96.1.1, SML server id or 1-0:0.0.9).
        timestamp: the meter's own time of the telegram, where it sends one.
        values: every value decoded, in telegram order.
    """

    protocol: Protocol
    meter_id: str | None
    timestamp: datetime | None
    values: tuple[ObisValue, ...]

    def get(self, obis: ObisCode | str, *, channel: int | None = None) -> ObisValue | None:
        """Return the first value with this OBIS code (and channel, when given), or None.

        Args:
            obis: the code, or its text form.
            channel: restrict to this M-Bus channel.

        Returns:
            The value, or None when the telegram has none.
        """
        code = ObisCode.parse(obis) if isinstance(obis, str) else obis
        for item in self.values:
            if item.obis == code and (channel is None or item.channel == channel):
                return item
        return None

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the telegram and all its values."""
        return {
            "protocol": self.protocol,
            "meterId": self.meter_id,
            "timestamp": _iso(self.timestamp),
            "values": [v.to_json() for v in self.values],
        }
