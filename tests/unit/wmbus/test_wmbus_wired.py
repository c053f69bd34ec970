"""Wired M-Bus long frames given to the radio decoder: read as the radio telegram they equal.

Requirement AD-1 (read the meter's interface): receivers, gateways and captures mix wired
RSP_UD frames among radio telegrams; ``omdp wmbus decode`` reads them with the same tables and
drivers, and says precisely what is wrong with a bad one.
"""

from __future__ import annotations

import pytest

from omdp.decoders.mbus import decode as decode_wired
from omdp.decoders.mbus.encode import encode, make_frame, make_record, vib_for
from omdp.decoders.mbus.header import Header, manufacturer_code
from omdp.decoders.wmbus import WMBusCrcError, WMBusDecodeError, decode
from omdp.decoders.wmbus.json_out import telegram_to_json
from omdp.decoders.wmbus.wired import FORMAT_WIRED, as_wireless

HEADER = Header("70444600", manufacturer_code("LUG"), 0x04, 0x04, 0x27, 0x00, 0x0000)
RECORDS = (
    make_record(vib_for("Energy", "Wh", 1000.0), 8974, coding="int32"),
    make_record(vib_for("Volume", "m^3", 0.01), 199_507, coding="bcd8"),
    make_record(vib_for("Flow temperature", "°C", 1.0), 52, coding="int16"),
    make_record(vib_for("Volume", "m^3", 0.01), 181_806, coding="bcd8", storage=1),
)
FRAME = encode(make_frame(0x72, RECORDS, header=HEADER, address=0))


def test_wired_long_frame_reads_as_the_radio_telegram_it_equals() -> None:
    """AD-1: id, manufacturer, version, medium from the long header; the same records."""
    tele = decode(FRAME)
    assert tele.frame_format == FORMAT_WIRED
    assert (tele.id, tele.manufacturer, tele.version, tele.device_type) == (
        "70444600",
        "LUG",
        0x04,
        0x04,
    )
    assert tele.access_number == 0x27
    wired = decode_wired(FRAME)
    got = [(r.quantity, r.value, r.unit, r.storage_number) for r in tele.records]
    assert got == [(r.quantity, r.value, r.unit, r.storage_number) for r in wired.records]
    assert got[1] == ("Volume", 1995.07, "m^3", 0)
    doc = telegram_to_json(tele)
    assert doc["header"]["link"]["frameFormat"] == "wired"
    assert doc["header"]["link"]["controlName"] == "RSP_UD"


def test_wired_frame_with_a_bad_checksum_is_a_crc_error() -> None:
    """AD-1: a wired frame whose checksum does not match is refused, at the checksum byte."""
    bad = bytearray(FRAME)
    bad[-2] ^= 0x01
    with pytest.raises(WMBusCrcError, match=r"wired M-Bus frame: checksum") as err:
        decode(bytes(bad))
    assert err.value.offset == len(FRAME) - 2


def test_wired_frame_without_a_long_header_is_refused_precisely() -> None:
    """AD-1: without a long header there is no meter id to give it: the error says so."""
    frame = encode(make_frame(0x78, RECORDS))
    with pytest.raises(WMBusDecodeError, match=r"CI 0x78: only frames with a long transport"):
        decode(frame)


def test_radio_telegrams_and_other_formats_are_not_taken_for_wired_frames() -> None:
    """AD-1: only the exact shape (68 L L 68 ... 16, length) is taken; a format is forced."""
    assert as_wireless(bytes.fromhex("1844AE4C4455223368077A55000000041389E20100023B0000")) is None
    assert as_wireless(FRAME[:-1]) is None
    with pytest.raises(WMBusDecodeError):
        decode(FRAME, frame_format="none")  # read as a radio telegram: not one
