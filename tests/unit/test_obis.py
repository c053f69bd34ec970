"""ObisCode: parsing every accepted form, printing, catalogue ids, rejection of bad text."""

from __future__ import annotations

import pytest

from omdp.domain.obis import ObisCode
from omdp.errors import DecodeError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1-0:1.8.0", ObisCode(1, 0, 1, 8, 0, 255)),
        ("1-0:1.8.0*255", ObisCode(1, 0, 1, 8, 0, 255)),
        ("1-0:1.8.0&01", ObisCode(1, 0, 1, 8, 0, 1)),
        ("1.8.0", ObisCode(1, 0, 1, 8, 0, 255)),
        ("0-1:24.2.1", ObisCode(0, 1, 24, 2, 1)),
        ("0-0:C.1.0", ObisCode(0, 0, 96, 1, 0)),
        ("0-0:F.F.0", None),
        ("0100010800ff", ObisCode(1, 0, 1, 8, 0, 255)),
        ("8181C78203FF", ObisCode(129, 129, 199, 130, 3, 255)),
        (" 1-0:32.7.0 ", ObisCode(1, 0, 32, 7, 0)),
    ],
)
def test_parse_forms(text: str, expected: ObisCode | None) -> None:
    if expected is None:
        with pytest.raises(DecodeError):
            ObisCode.parse(text)
    else:
        assert ObisCode.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "abc", "1-0:1.8", "1-0:1.8.0.0", "1-0:256.8.0", "1-:1.8.0", "0100010800", "1-0:1.8.0*999"],
)
def test_invalid_text_raises_decode_error(text: str) -> None:
    with pytest.raises(DecodeError, match="OBIS"):
        ObisCode.parse(text)


def test_str_omits_default_f() -> None:
    assert str(ObisCode.parse("1-0:1.8.0*255")) == "1-0:1.8.0"
    assert str(ObisCode.parse("1-0:1.8.0*1")) == "1-0:1.8.0*1"


@pytest.mark.parametrize(
    ("text", "property_id"),
    [
        ("1-0:1.8.0", "OBIS_1.8.0"),
        ("1-0:32.7.0", "OBIS_32.7.0"),
        ("0-0:96.1.0", "OBIS_C.1.0"),
        ("1-0:97.97.0", "OBIS_F.97.0"),
    ],
)
def test_property_id(text: str, property_id: str) -> None:
    assert ObisCode.parse(text).property_id == property_id


def test_bytes_round_trip_and_validation() -> None:
    code = ObisCode.parse("1-0:16.7.0")
    assert ObisCode.from_bytes(code.to_bytes()) == code
    with pytest.raises(DecodeError):
        ObisCode.from_bytes(b"\x01\x02")
    with pytest.raises(DecodeError):
        ObisCode(1, 0, 300, 0, 0)


def test_frozen_and_hashable() -> None:
    code = ObisCode.parse("1-0:1.8.1")
    assert {code: 1}[ObisCode.parse("1.8.1")] == 1
    with pytest.raises(AttributeError):
        code.c = 2  # type: ignore[misc]
