"""A decoded wireless M-Bus telegram: what :func:`omdp.decoders.wmbus.decode` returns.

Its own module so that the drivers, which read telegrams, and the decoder, which applies the
drivers, do not import each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from omdp.decoders.mbus.header import manufacturer_letters
from omdp.decoders.mbus.records import DataRecord
from omdp.decoders.mbus.tables import MEDIUM
from omdp.decoders.wmbus.layers import Afl, Ell, Tpl
from omdp.decoders.wmbus.link import LinkHeader

SECURITY_NONE: Final = "none"
SECURITY_MODE5: Final = "mode5"
SECURITY_MODE7: Final = "mode7"
SECURITY_DES: Final = "des"  # modes 2 and 3
SECURITY_ELL: Final = "ell-ctr"
SECURITY_STORED: Final = "stored-decrypted"  # flagged encrypted, stored in the clear
SECURITY_MFCT: Final = "manufacturer"  # TPL modes 16-31: the manufacturer's own
SECURITY_LFSR: Final = "diehl-lfsr"  # Diehl PRIOS and real data, unscrambled


@dataclass(frozen=True, slots=True)
class Telegram:
    """A decoded wireless M-Bus telegram.

    ``payload`` is the application data after the last header, decrypted; for manufacturer
    CIs (0xA0-0xB7) it is all there is. ``records`` are the data records read from it
    (compact frames expanded); ``values`` are a driver's named values (``total_m3``...).
    """

    link: LinkHeader
    frame_format: str
    ci: int
    ell: Ell | None = None
    afl: Afl | None = None
    tpl: Tpl | None = None
    records: tuple[DataRecord, ...] = ()
    payload: bytes = b""
    security: str = SECURITY_NONE
    compact_signature: int | None = None
    rssi_dbm: float | None = None
    driver: str | None = None
    values: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    warnings: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """Return the meter id: the long transport header's where there is one (8 digits)."""
        h = self.tpl.header if self.tpl else None
        return h.id if h is not None and h.id is not None else self.link.id

    @property
    def manufacturer(self) -> str:
        """Return the manufacturer of the long transport header, else the link layer's."""
        h = self.tpl.header if self.tpl else None
        code = h.manufacturer_code if h is not None and h.manufacturer_code is not None else None
        return manufacturer_letters(code) if code is not None else self.link.manufacturer

    @property
    def version(self) -> int:
        """Return the version of the long transport header, else the link layer's."""
        h = self.tpl.header if self.tpl else None
        return h.version if h is not None and h.version is not None else self.link.version

    @property
    def device_type(self) -> int:
        """Return the device type (medium) of the long transport header, else the link's."""
        h = self.tpl.header if self.tpl else None
        return h.medium if h is not None and h.medium is not None else self.link.device_type

    @property
    def medium(self) -> str:
        """Return the device type as text."""
        return MEDIUM[self.device_type]

    @property
    def access_number(self) -> int | None:
        """Return the access number of the TPL, else the ELL's."""
        h = self.tpl.header if self.tpl else None
        if h is not None and h.access_number is not None:
            return h.access_number
        return self.ell.access_number if self.ell else None

    @property
    def status(self) -> int | None:
        """Return the TPL status byte, if there is a header."""
        h = self.tpl.header if self.tpl else None
        return h.status if h is not None else None
