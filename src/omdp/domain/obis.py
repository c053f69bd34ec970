"""OBIS codes (IEC 62056-61): the six value groups A-B:C.D.E*F that name a meter quantity.

``ObisCode.parse`` is the only way from text to a code. It accepts the forms meters and
catalogues use::

    1-0:1.8.0        reduced ID as in DSMR P1 telegrams (F defaults to 255)
    1-0:1.8.0*255    full form; ``&`` is accepted as the F separator too
    1.8.0            C.D.E only (A=1, B=0, F=255: electricity, no channel)
    0-0:C.1.0        letter forms of group C: C = 96 (general service), F = 97 (error)
    0100010800ff     six bytes in hex, as SML carries them

``str()`` gives ``A-B:C.D.E`` (``*F`` only when F is not 255); :attr:`ObisCode.property_id` gives
the catalogue id ``OBIS_C.D.E`` with C written as a letter where IEC 62056-61 has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from omdp.errors import DecodeError

#: IEC 62056-61 letter forms of value group C.
_LETTER_TO_C: Final = MappingProxyType({"C": 96, "F": 97, "L": 98, "P": 99})
_C_TO_LETTER: Final = MappingProxyType({v: k for k, v in _LETTER_TO_C.items()})

_GROUP = r"(\d{1,3}|[CFLP])"
_TEXT_RE: Final = re.compile(
    rf"^(?:(\d{{1,3}})-(\d{{1,3}}):)?{_GROUP}\.(\d{{1,3}})\.(\d{{1,3}})(?:[*&](\d{{1,3}}))?$"
)
_HEX_RE: Final = re.compile(r"^[0-9a-fA-F]{12}$")


def _group(text: str) -> int:
    return _LETTER_TO_C[text] if text in _LETTER_TO_C else int(text)


@dataclass(frozen=True, slots=True)
class ObisCode:
    """One OBIS code; every group is an int in 0..255.

    Attributes:
        a: medium (0 abstract, 1 electricity, 7 gas, 8 water...).
        b: channel (DSMR uses it for the M-Bus sub-meter number).
        c: physical quantity (1 active import, 2 active export, 32 voltage L1, 96 service...).
        d: processing (7 instantaneous, 8 cumulative...).
        e: tariff or further classification.
        f: historical value / billing period; 255 means "current".
    """

    a: int
    b: int
    c: int
    d: int
    e: int
    f: int = 255

    def __post_init__(self) -> None:
        for name in ("a", "b", "c", "d", "e", "f"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 255:
                msg = f"OBIS group {name} must be an int in 0..255, got {value!r}"
                raise DecodeError(msg)

    @classmethod
    def parse(cls, text: str) -> ObisCode:
        """Parse an OBIS code from any of the forms listed in the module docstring.

        Args:
            text: the code as text; surrounding whitespace is ignored.

        Returns:
            The parsed code.

        Raises:
            DecodeError: the text is no OBIS code or a group is out of range.
        """
        stripped = text.strip()
        if _HEX_RE.match(stripped):
            return cls(*bytes.fromhex(stripped))
        match = _TEXT_RE.match(stripped)
        if match is None:
            msg = f"not an OBIS code: {text!r}"
            raise DecodeError(msg)
        a, b, c, d, e, f = match.groups()
        if (a is None) != (b is None):  # pragma: no cover - the regex pairs them
            msg = f"not an OBIS code: {text!r}"
            raise DecodeError(msg)
        return cls(
            a=1 if a is None else int(a),
            b=0 if b is None else int(b),
            c=_group(c),
            d=int(d),
            e=int(e),
            f=255 if f is None else int(f),
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> ObisCode:
        """Build a code from its six-byte binary form (SML, DLMS).

        Args:
            raw: exactly six bytes A B C D E F.

        Returns:
            The code.

        Raises:
            DecodeError: the length is not six.
        """
        if len(raw) != 6:
            msg = f"an OBIS code has 6 bytes, got {len(raw)}: {raw.hex()}"
            raise DecodeError(msg)
        return cls(*raw)

    def to_bytes(self) -> bytes:
        """Return the six-byte binary form."""
        return bytes((self.a, self.b, self.c, self.d, self.e, self.f))

    @property
    def reduced(self) -> str:
        """``A-B:C.D.E``, the reduced ID that DSMR telegrams carry."""
        return f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}"

    @property
    def property_id(self) -> str:
        """Catalogue id ``OBIS_C.D.E``, C as a letter where IEC 62056-61 defines one."""
        return f"OBIS_{_C_TO_LETTER.get(self.c, str(self.c))}.{self.d}.{self.e}"

    def with_channel(self, b: int) -> ObisCode:
        """Return the same code on channel ``b``."""
        return ObisCode(self.a, b, self.c, self.d, self.e, self.f)

    def __str__(self) -> str:
        return self.reduced if self.f == 255 else f"{self.reduced}*{self.f}"
