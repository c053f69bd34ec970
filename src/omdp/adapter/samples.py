"""What one read of a meter yields, whatever its interface: a :class:`MeterSample`.

Each meter source (M-Bus, DSMR P1, SML, JSON over MQTT) turns its decoded frame into a sample of
:class:`SourceValue` items, each described by a few matchable fields (``obis`` for DSMR and SML;
``quantity``, ``function``, ``storage``, ``tariff``, ``subunit`` for M-Bus). The mapping then
picks values by selector without knowing the protocol.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from omdp.decoders.obis_values import Telegram

Scalar = float | int | str


@dataclass(frozen=True, slots=True)
class SourceValue:
    """One value as the meter reported it, before mapping."""

    fields: Mapping[str, str | int]
    value: Scalar
    unit: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class MeterSample:
    """The result of one read of one meter.

    Attributes:
        values: the decoded values.
        meter_time: the meter's own clock at the read, aware, when it has one.
        fault: the meter's own error state, when it reports one (e.g. an M-Bus status bit).
        document: the raw JSON document, for sources that deliver JSON (selectors ``$.``).
        meter_serial: the meter's own identification, when the frame carries one.
    """

    values: tuple[SourceValue, ...]
    meter_time: datetime | None = None
    fault: str | None = None
    document: Any = None
    meter_serial: str | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def plain_number(value: Any) -> Scalar | None:
    """A decoded value as float/int/str; None for values that are not scalars or not finite."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int | str):
        return value
    return None


def sample_from_telegram(telegram: Telegram) -> MeterSample:
    """A DSMR or SML telegram as a sample: each value matched by its OBIS code."""
    values = []
    for item in telegram.values:
        number = plain_number(item.value)
        if number is None:
            continue
        fields: dict[str, str | int] = {"obis": str(item.obis)}
        if item.channel is not None:
            fields["channel"] = item.channel
        values.append(SourceValue(fields, number, item.unit, item.timestamp))
    return MeterSample(
        values=tuple(values), meter_time=telegram.timestamp, meter_serial=telegram.meter_id
    )
