"""The meter behind a radio module, as an enhanced identification record names it.

A radio converter (device type 0x37, "radio converter, meter side") or a module fitted to a
meter often sends the meter's own address as a record ``07 79`` (64-bit integer, VIF
"enhanced identification"): ``id(4, BCD, least significant first) M(2) version medium``, as
in a long transport header. The link layer then carries the module's address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from omdp.decoders.mbus.header import manufacturer_letters
from omdp.decoders.mbus.records import DataRecord
from omdp.decoders.mbus.tables import MEDIUM

_DIB: Final = b"\x07"
_VIB: Final = b"\x79"


@dataclass(frozen=True, slots=True)
class MeterBehind:
    """The address an enhanced identification record gives."""

    id: str
    manufacturer_code: int
    version: int
    device_type: int

    @property
    def manufacturer(self) -> str:
        """Return the three letters of the manufacturer code."""
        return manufacturer_letters(self.manufacturer_code)

    @property
    def medium(self) -> str:
        """Return the device type as text."""
        return MEDIUM[self.device_type]


def meter_behind(records: Iterable[DataRecord]) -> MeterBehind | None:
    """Return the meter an enhanced identification record names, or ``None``.

    Only a record whose id digits are decimal is taken (an identification number that is a
    plain counter is no address).
    """
    for record in records:
        if record.dib == _DIB and record.vib == _VIB and len(record.data) == 8:
            digits = record.data[3::-1].hex().upper()
            if not digits.isdigit():
                return None
            return MeterBehind(
                digits,
                int.from_bytes(record.data[4:6], "little"),
                record.data[6],
                record.data[7],
            )
    return None
