"""M-Bus numbers of variable length, and codes no table names (AD-1, issue 17).

AD-1: a binary number of variable length (LVAR 0xE0-0xEF: 0 to 15 bytes; 0xF0-0xF4: 16 to 32)
is, as every M-Bus number, least significant byte first: its value is the bytes' little-endian
integer (in a frame of CI 0x76/0x77, which sends numbers most significant byte first, the
reverse). A reserved or unknown VIF or VIF extension says so in ``quantity`` (libmbus's words,
"Reserved VIF extension"), and the record keeps its bytes, so that a user sees why it is not
mapped.
"""

from __future__ import annotations

import pytest

from omdp.decoders.mbus.json_out import record_to_json
from omdp.decoders.mbus.records import parse_records

SIXTEEN = bytes(range(1, 17))


def _one(record_hex: str, *, msb_first: bool = False) -> object:
    buf = bytes.fromhex(record_hex)
    [record] = parse_records(buf, 0, len(buf), msb_first=msb_first)
    return record


def test_ad1_lvar_binary_numbers_are_little_endian() -> None:
    """AD-1: 0xE4 (4 bytes) and 0xF0 (16 bytes): the little-endian integer of the bytes."""
    four = _one("0D13E4" + "01020304")
    assert four.value == 0x04030201  # type: ignore[attr-defined]
    sixteen = _one("0D13F0" + SIXTEEN.hex())
    assert sixteen.value == int.from_bytes(SIXTEEN, "little")  # type: ignore[attr-defined]
    assert sixteen.value != int.from_bytes(SIXTEEN, "big")  # type: ignore[attr-defined]
    fifteen = _one("0D13EF" + SIXTEEN[:15].hex())
    assert fifteen.value == int.from_bytes(SIXTEEN[:15], "little")  # type: ignore[attr-defined]
    assert record_to_json(sixteen)["raw"].endswith(SIXTEEN.hex(" ").upper())  # type: ignore[arg-type]


def test_ad1_lvar_binary_numbers_of_msb_first_frames() -> None:
    """AD-1: CI 0x76/0x77 frames send numbers most significant byte first."""
    record = _one("0D13E4" + "01020304", msb_first=True)
    assert record.value == 0x01020304  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("record_hex", "quantity"),
    [
        ("04FD7B" + "01020304", "Reserved VIF extension"),
        ("04FD7E" + "01020304", "Reserved VIF extension"),
        ("04FD3F" + "01020304", "Unrecognized VIF 0xFD extension: 0x3f"),
        ("04FB40" + "01020304", "Reserved VIF extension"),
        ("047B" + "01020304", "Reserved VIF: 0x7b"),
    ],
)
def test_ad1_reserved_and_unknown_codes_are_labelled(record_hex: str, quantity: str) -> None:
    """AD-1: a reserved or unknown code is named in quantity, the raw number and bytes kept."""
    record = _one(record_hex)
    assert record.quantity == quantity  # type: ignore[attr-defined]
    assert record.unit == ""  # type: ignore[attr-defined]
    assert record.value == 0x04030201  # type: ignore[attr-defined]
    out = record_to_json(record)  # type: ignore[arg-type]
    assert out["quantity"] == quantity
    assert out["vib"] == bytes.fromhex(record_hex[2:-8]).hex(" ").upper()
