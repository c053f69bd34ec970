"""Diehl (DME, EWT, HYD, SAP, SPL) specificities: address layout, PRIOS scrambling, default key.

What these meters do differently, as documented by the open wM-Bus community:

- In PRIOS telegrams (CI 0xA0-0xA7, 0xB1-0xB3) and in "real data" telegrams (CI 0x71, and CI
  0x7A with a manufacturer security mode, 16-31), the A-field holds version and device type
  *first*, then the identification number: ``VER TYPE ID(4)`` instead of ``ID(4) VER TYPE``.
- Their payload from byte 15 on is scrambled by a 32-bit LFSR (taps at bits 1, 2, 11 and 31),
  seeded with a key folded to 32 bits and XORed with the header words; a check byte (``4B`` at
  the start, PRIOS) or a checksum (``sum & 0xEF`` equal to byte 14 ``& 0xEF``, real data) tells
  whether the key was right.
- OMS telegrams (mode 5) of meters without a customer key use a published default key.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from omdp.decoders.mbus.header import manufacturer_code

MANUFACTURERS: Final = frozenset(manufacturer_code(m) for m in ("DME", "EWT", "HYD", "SAP", "SPL"))
_SAP: Final = manufacturer_code("SAP")
#: the two published PRIOS keys (8 bytes each); the second, doubled, is the default OMS key
PRIOS_KEYS: Final = (bytes.fromhex("39BC8A10E66D83F8"), bytes.fromhex("51728910E66D83F8"))
DEFAULT_OMS_KEY: Final = PRIOS_KEYS[1] * 2
_PAYLOAD_AT: Final = 15


class Layout(Enum):
    """How a Diehl telegram is to be read."""

    NONE = "none"  # not Diehl, or a plain OMS telegram
    OMS = "oms"
    REAL_DATA = "real-data"
    PRIOS = "prios"
    PRIOS_SCR = "prios-scr"
    SAP_PRIOS = "sap-prios"
    RESERVED = "reserved"


def layout(frame: bytes) -> Layout:
    """Return how a telegram (without CRCs) is laid out."""
    if len(frame) < _PAYLOAD_AT:
        return Layout.NONE
    man = int.from_bytes(frame[2:4], "little")
    if man not in MANUFACTURERS or frame[1] not in (0x44, 0x46):
        return Layout.NONE
    ci = frame[10]
    if ci == 0x71:
        return Layout.REAL_DATA
    if ci == 0x7A:
        return Layout.REAL_DATA if frame[14] & 0x10 else Layout.OMS
    if 0xA0 <= ci <= 0xA7:
        return Layout.SAP_PRIOS if man == _SAP else Layout.PRIOS
    if 0xB1 <= ci <= 0xB3:
        return Layout.PRIOS_SCR
    if 0xA8 <= ci <= 0xB7:
        return Layout.RESERVED
    return Layout.OMS


def standard_address(frame: bytes, how: Layout) -> bytes:
    """Return the telegram with its A-field in the standard order ``ID(4) VER TYPE``."""
    if how in (Layout.PRIOS, Layout.PRIOS_SCR, Layout.REAL_DATA):
        return frame[:4] + frame[6:10] + frame[4:6] + frame[10:]
    if how == Layout.SAP_PRIOS:  # the version byte is a fifth id byte; the meter is for water
        return frame[:8] + b"\x00\x07" + frame[10:]
    return frame


def fold_key(key: bytes) -> int:
    """Return a key's first 8 bytes folded to the 32-bit LFSR key (high word XOR low word)."""
    return int.from_bytes(key[0:4], "big") ^ int.from_bytes(key[4:8], "big")


def _lfsr(origin: bytes, frame: bytes, key: int) -> bytearray:
    state = key
    state ^= int.from_bytes(origin[2:6], "big")
    state ^= int.from_bytes(origin[6:10], "big")
    state ^= int.from_bytes(frame[10:14], "big")
    out = bytearray()
    for byte in frame[_PAYLOAD_AT:]:
        for _ in range(8):
            bit = ((state >> 1) ^ (state >> 2) ^ (state >> 11) ^ (state >> 31)) & 1
            state = ((state << 1) | bit) & 0xFFFFFFFF
        out.append(byte ^ (state & 0xFF))
    return out


def unscramble(origin: bytes, frame: bytes, how: Layout, key: bytes | None) -> bytes | None:
    """Return the payload from byte 15 on unscrambled, or ``None`` when no key checks out.

    Args:
        origin: the telegram as received (A-field not reordered), seeding the LFSR.
        frame: the same telegram (its bytes 10-14 seed it too).
        how: :attr:`Layout.REAL_DATA` (checksum check) or a PRIOS layout (``4B`` check).
        key: the meter's key (its first 8 bytes are used), else the published keys are tried.
    """
    keys = [fold_key(key)] if key is not None and len(key) >= 8 else []
    keys += [fold_key(k) for k in PRIOS_KEYS]
    for k in keys:
        plain = _lfsr(origin, frame, k)
        if not plain:
            return None
        if how == Layout.REAL_DATA:
            if sum(plain) & 0xEF == frame[14] & 0xEF:
                return bytes(plain)
        elif plain[0] == 0x4B:
            return bytes(plain)
    return None


def scramble(telegram: bytes, key: bytes = PRIOS_KEYS[0]) -> bytes:
    """Return a PRIOS telegram (Diehl A-field order, plain payload from byte 15) scrambled.

    The LFSR stream depends on the header only, so scrambling is the same XOR as unscrambling;
    for test telegrams and simulators.
    """
    return telegram[:_PAYLOAD_AT] + bytes(_lfsr(telegram, telegram, fold_key(key)))
