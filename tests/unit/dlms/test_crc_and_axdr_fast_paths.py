"""The fast paths of the DLMS codec give what the slow, obvious code gives (DM-*, AD-6).

``crc16_x25`` (HDLC HCS/FCS, SML) runs in C through ``binascii.crc_hqx`` on bit-reversed bytes;
here it is checked against the textbook bitwise CRC-16/X.25 and its published check value.
``read_data`` decodes A-XDR in one loop with an explicit stack; here it is checked against values
built with the encoder, nested, at the nesting limit, and cut short at every byte.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omdp.decoders.dlms import Array, Structure, Typed, axdr, decode_data, encode_data
from omdp.decoders.dlms.errors import DlmsError, DlmsTruncatedError
from omdp.decoders.sml.crc import crc16_x25


def bitwise_x25(data: bytes) -> int:
    """CRC-16/X.25 bit by bit (poly 0x8408 reflected, init and xorout 0xFFFF), wire order."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    crc ^= 0xFFFF
    return ((crc & 0xFF) << 8) | (crc >> 8)


def test_crc16_x25_check_value() -> None:
    # the catalogued check value of CRC-16/X-25 over "123456789" is 0x906E (low byte first)
    assert crc16_x25(b"123456789") == 0x6E90
    assert crc16_x25(memoryview(b"123456789")) == 0x6E90
    assert crc16_x25(b"") == bitwise_x25(b"")


@given(st.binary(max_size=600))
def test_crc16_x25_equals_the_bitwise_crc(data: bytes) -> None:
    assert crc16_x25(data) == bitwise_x25(data)
    assert crc16_x25(bytearray(data)) == bitwise_x25(data)


_LEAVES = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda v: Typed(axdr.DOUBLE_LONG_UNSIGNED, v)),
    st.integers(-(2**31), 2**31 - 1).map(lambda v: Typed(axdr.DOUBLE_LONG, v)),
    st.integers(-128, 127).map(lambda v: Typed(axdr.INTEGER, v)),
    st.integers(0, 255).map(lambda v: Typed(axdr.ENUM, v)),
    st.integers(0, 65535).map(lambda v: Typed(axdr.LONG_UNSIGNED, v)),
    st.integers(-(2**63), 2**63 - 1).map(lambda v: Typed(axdr.LONG64, v)),
    st.binary(max_size=300),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    st.booleans(),
    st.none(),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(Structure), st.lists(inner, max_size=5).map(Array)
    ),
    max_leaves=30,
)


def _plain(value: object) -> object:
    if isinstance(value, Typed):
        return value.value
    if isinstance(value, Structure | Array):
        return type(value)(_plain(v) for v in value)
    return value


@given(_VALUES)
def test_read_data_round_trips_nested_values(value: object) -> None:
    raw = encode_data(value)
    decoded, end = decode_data(raw)
    assert end == len(raw)
    assert decoded == _plain(value)
    assert type(decoded) is type(_plain(value))


def test_read_data_reports_truncation_at_every_cut() -> None:
    raw = encode_data(
        Structure([Typed(axdr.LONG, -3), b"\x01\x00\x01\x08\x00\xff", Array([1, 2]), "text"])
    )
    for cut in range(len(raw)):
        with pytest.raises(DlmsTruncatedError):
            decode_data(raw[:cut])


def test_read_data_limits_nesting_and_reads_long_lengths() -> None:
    nested: object = 1
    for _ in range(axdr.MAX_DEPTH):
        nested = Structure([nested])
    assert decode_data(encode_data(nested))[0] is not None
    with pytest.raises(DlmsError, match="nested deeper"):
        decode_data(encode_data(Structure([nested])))
    long_string = bytes(range(256)) * 2  # A-XDR length 0x82 0x02 0x00
    assert decode_data(encode_data(long_string))[0] == long_string
    wide = Array(list(range(200)))  # element count 0x81 0xC8
    assert decode_data(encode_data(wide))[0] == wide
