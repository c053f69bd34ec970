"""The M-Bus data header (long, short, fixed and selection) and manufacturer codes."""

from __future__ import annotations

from dataclasses import dataclass

from omdp.decoders.mbus import tables as tb


def manufacturer_letters(code: int) -> str:
    """Return the three letters of a manufacturer code (EN 13757-3, 5 bits each)."""
    return "".join(chr(((code >> s) & 0x1F) + 64) for s in (10, 5, 0))


def manufacturer_code(letters: str) -> int:
    """Return the 16-bit code of a three-letter manufacturer id (``"PAD"`` -> 0x4024)."""
    if len(letters) != 3 or not all("@" <= c <= "_" for c in letters.upper()):
        msg = f"manufacturer must be three letters, got {letters!r}"
        raise ValueError(msg)
    up = letters.upper()
    return ((ord(up[0]) - 64) << 10) | ((ord(up[1]) - 64) << 5) | (ord(up[2]) - 64)


@dataclass(frozen=True, slots=True)
class Header:
    """The data header: long (CI 72/76/52), short (CI 7A) or fixed (CI 73/77).

    ``id`` is the identification number as its 8 digits (``F`` for wildcards in a selection);
    it is ``None`` for the short header, as are ``manufacturer_code`` and ``version`` there
    and in the fixed structure.
    """

    id: str | None
    manufacturer_code: int | None
    version: int | None
    medium: int | None
    access_number: int | None
    status: int | None
    signature: int | None

    @property
    def manufacturer(self) -> str | None:
        """Return the manufacturer as three letters."""
        if self.manufacturer_code is None:
            return None
        return manufacturer_letters(self.manufacturer_code)

    @property
    def medium_name(self) -> str | None:
        """Return the medium as text (the fixed structure has its own, shorter table)."""
        if self.medium is None:
            return None
        return tb.MEDIUM[self.medium]
