"""The wireless M-Bus decoder on telegrams we build: link layer, security, errors, compact frames.

Requirements: AD-1 (read the meter's interface: EN 13757-4 / OMS radio telegrams), AD-2 (values
in the meter's units, converted), and the issue's "precise errors" (bad CRC, wrong or missing
key, truncated telegram).
"""

from __future__ import annotations

import pytest

from omdp.decoders.mbus.encode import make_record, vib_for
from omdp.decoders.wmbus import (
    FormatStore,
    WMBusCrcError,
    WMBusDecodeError,
    WMBusKeyError,
    WMBusTruncatedError,
    decode,
    parse_key,
    strip_crcs,
)
from omdp.decoders.wmbus.compact import signature
from omdp.decoders.wmbus.crc import crc16
from omdp.decoders.wmbus.encode import MeterIdentity, encode_compact, encode_telegram
from omdp.decoders.wmbus.json_out import telegram_to_json
from omdp.decoders.wmbus.security import cmac, kdf

METER = MeterIdentity("KAM", "12345678", 0x1B, 0x07)
KEY = bytes(range(16))
RECORDS = (
    make_record(vib_for("Volume", "m^3", 0.001), 123_456),
    make_record(vib_for("Flow temperature", "°C", 1.0), 21, coding="int8"),
    make_record(vib_for("Energy", "Wh", 1000.0), 4321, coding="bcd8", storage=1),
)


def values(tele: object) -> list[tuple[str, object, str, int]]:
    return [(r.quantity, r.value, r.unit, r.storage_number) for r in tele.records]  # type: ignore[attr-defined]


EXPECTED = [
    ("Volume", 123.456, "m^3", 0),
    ("Flow temperature", 21, "°C", 0),
    ("Energy", 4321000, "Wh", 1),
]


def test_crc_is_en13757_crc16() -> None:
    """AD-1: the CRC of EN 13757-4 (poly 0x3D65, complemented): a known check value."""
    assert crc16(b"123456789") == 0xC2B7  # CRC-16/EN-13757 check value


def test_cmac_matches_rfc4493() -> None:
    """AD-1: the AES-CMAC used by mode 7 is RFC 4493's (example 2)."""
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    msg = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
    assert cmac(key, msg).hex() == "070a16b46b4d4144f79bdd9dd04a287c"
    assert kdf(key, 0x00, 1, b"\x78\x56\x34\x12") != kdf(key, 0x01, 1, b"\x78\x56\x34\x12")


@pytest.mark.parametrize("frame_format", ["none", "A", "B"])
@pytest.mark.parametrize("mode", [0, 5, 7])
def test_decode_every_security_mode_and_frame_format(mode: int, frame_format: str) -> None:
    """AD-1, AD-2: modes 0, 5 and 7 in formats A, B and without CRCs give the same records."""
    key = KEY if mode else None
    raw = encode_telegram(
        METER, RECORDS, access_number=42, key=key, mode=mode or 5, counter=9,
        frame_format=frame_format,
    )  # fmt: skip
    tele = decode(raw, key=key)
    assert values(tele) == EXPECTED
    assert tele.id == "12345678"
    assert tele.manufacturer == "KAM"
    assert tele.frame_format == frame_format
    assert tele.security == {0: "none", 5: "mode5", 7: "mode7"}[mode]
    assert tele.access_number == 42
    if mode == 7:
        assert tele.afl is not None
        assert tele.afl.counter == 9
        assert len(tele.afl.mac) == 8


@pytest.mark.parametrize("mode", [5, 7])
def test_wrong_and_missing_keys_are_reported_as_such(mode: int) -> None:
    """The issue: a wrong or missing key is an error that says which."""
    raw = encode_telegram(METER, RECORDS, access_number=7, key=KEY, mode=mode)
    with pytest.raises(WMBusKeyError, match="no key given") as missing:
        decode(raw)
    assert missing.value.missing
    with pytest.raises(WMBusKeyError, match="wrong key") as wrong:
        decode(raw, key=bytes(16))
    assert not wrong.value.missing


def test_bad_crc_and_truncation_are_precise() -> None:
    """The issue: a bad CRC names the block, a truncated telegram says how short it is."""
    raw = bytearray(encode_telegram(METER, RECORDS, access_number=1, frame_format="A"))
    raw[14] ^= 0x01  # a byte of the second block
    with pytest.raises(WMBusCrcError, match="bad CRC") as bad:
        decode(bytes(raw))
    assert bad.value.offset == 28  # the second block's CRC
    plain = encode_telegram(METER, RECORDS, access_number=1)
    with pytest.raises(WMBusTruncatedError, match="truncated"):
        decode(plain[:-3])
    with pytest.raises(WMBusTruncatedError, match="needs 30 bytes, got 6"):
        decode(plain[:6])
    with pytest.raises(WMBusTruncatedError, match="link header"):
        decode(bytes((5,)) + plain[1:6])


def test_stored_decrypted_payload_is_taken_without_a_key() -> None:
    """A header that says mode 5 over a payload kept in the clear (2F 2F first) decodes."""
    enc = bytearray(encode_telegram(METER, RECORDS, access_number=3, key=KEY))
    clear = encode_telegram(METER, RECORDS, access_number=3)
    body = b"\x2f\x2f" + clear[15:]
    body += b"\x2f" * (-len(body) % 16)
    frame = bytes(enc[:15]) + body
    frame = bytes((len(frame) - 1,)) + frame[1:]
    tele = decode(frame)
    assert tele.security == "stored-decrypted"
    assert values(tele) == EXPECTED


def test_long_header_identifies_the_meter_not_the_radio() -> None:
    """CI 0x72: the meter's id is the transport header's (a radio module's link id differs)."""
    raw = encode_telegram(METER, RECORDS, access_number=5, key=KEY, long_header=True)
    relayed = raw[:4] + bytes.fromhex("99999999") + raw[8:]  # another A-field on the link
    tele = decode(relayed, key=KEY)
    assert tele.id == "12345678"
    assert tele.link.id == "99999999"
    doc = telegram_to_json(tele)
    assert doc["header"]["id"] == "12345678"
    assert doc["header"]["link"]["id"] == "99999999"


def test_compact_frame_needs_the_full_frame_first() -> None:
    """Compact frames (CI 0x79) decode once the full frame's format is known; signature checked."""
    store = FormatStore()
    compact = encode_compact(METER, RECORDS, access_number=2)
    assert decode(compact, formats=store).records == ()
    assert "unknown format" in decode(compact, formats=store).warnings[0]
    decode(encode_telegram(METER, RECORDS, access_number=1), formats=store)
    tele = decode(compact, formats=store)
    assert values(tele) == EXPECTED
    assert tele.compact_signature == signature(b"".join(r.dib + r.vib for r in RECORDS))
    assert not tele.warnings  # the data CRC matched


def test_no_compact_format_is_shipped() -> None:
    """Formats come only from the meter's own full frames: a new store knows none."""
    assert len(FormatStore()) == 0
    fmt = bytes.fromhex("02FF2004134413615B6167")  # a Kamstrup water meter's, as an example
    assert FormatStore().get(crc16(fmt)) is None
    assert FormatStore([fmt]).get(crc16(fmt)) == fmt  # given back from what was learnt before


def test_learnt_formats_round_trip_and_stay_bounded() -> None:
    store = FormatStore(limit=2)
    formats = [bytes.fromhex(h) for h in ("0413", "0413026C", "04130259")]
    for fmt in formats:
        store.add(fmt)
    assert len(store) == 2
    again = FormatStore(bytes.fromhex(h) for h in store.export())
    assert again.get(crc16(formats[2])) == formats[2]
    assert again.get(crc16(formats[0])) is None  # the oldest was forgotten
    with pytest.raises(WMBusDecodeError, match="ends"):
        store.add(bytes.fromhex("84"))  # not whole DIF/VIF pairs


def _compact_with_header(ci: int, header: bytes, payload: bytes) -> bytes:
    frame = bytes((0x44,)) + METER.a_field() + bytes((ci,)) + header + payload
    return bytes((len(frame),)) + frame


def test_compact_frames_with_short_and_long_headers_and_format_frames() -> None:
    """CI 0x7B/0x73 (compact, short/long header), CI 0x69-0x6B (format frames) by EN 13757-7."""
    fmt = b"".join(r.dib + r.vib for r in RECORDS)
    full = b"".join(r.raw for r in RECORDS)
    data = b"".join(r.data for r in RECORDS)
    sig = signature(fmt).to_bytes(2, "little")
    body = sig + crc16(full).to_bytes(2, "little") + data
    short = bytes((9, 0, 0, 0))  # access number, status, configuration word (no encryption)
    long_ = bytes.fromhex("78563412") + METER.a_field()[:2] + METER.a_field()[6:] + short
    store = FormatStore()
    learnt = decode(_compact_with_header(0x6A, short, sig + fmt), formats=store)
    assert learnt.records == ()
    assert not learnt.warnings
    assert values(decode(_compact_with_header(0x7B, short, body), formats=store)) == EXPECTED
    tele = decode(_compact_with_header(0x73, long_, body), formats=store)
    assert values(tele) == EXPECTED
    assert tele.id == "12345678"
    other = FormatStore()
    bad = decode(_compact_with_header(0x69, b"", b"\x00\x00" + fmt), formats=other)
    assert "not learnt" in bad.warnings[0]
    assert len(other) == 0


def test_strip_crcs_tells_the_formats_apart() -> None:
    clear = encode_telegram(METER, RECORDS, access_number=4)
    for fmt in ("A", "B"):
        framed = encode_telegram(METER, RECORDS, access_number=4, frame_format=fmt)
        stripped, found = strip_crcs(framed)
        assert found == fmt
        assert stripped == clear
    assert strip_crcs(clear) == (clear, "none")


def test_parse_key_refuses_what_is_not_aes128() -> None:
    assert parse_key("00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F") == KEY
    assert parse_key("0102030405060708") == bytes(range(1, 9))  # a Diehl PRIOS key
    with pytest.raises(ValueError, match="32 hex digits"):
        parse_key("01020304050607")
    raw = encode_telegram(METER, RECORDS, access_number=7, key=KEY)
    with pytest.raises(WMBusKeyError, match="needs an AES-128 key"):
        decode(raw, key=bytes(range(8)))


def test_bytes_after_the_telegram_are_left_out_and_said() -> None:
    """A receiver's RSSI byte or noise after the telegram: decoded as L says, with a warning."""
    for fmt in ("none", "A"):
        raw = encode_telegram(METER, RECORDS, access_number=8, frame_format=fmt) + b"\x99\x01"
        tele = decode(raw)
        assert values(tele) == EXPECTED
        assert tele.frame_format == fmt
        assert tele.warnings == ("2 byte(s) after the telegram",)


def test_the_meter_behind_a_radio_module_is_named_in_the_header() -> None:
    """AD-1: a radio converter (device type 0x37) sends its meter's address as an enhanced
    identification record (07 79): the header names that meter beside the module's own id,
    and drivers match on it as on a long header's."""
    behind = int.from_bytes(
        bytes.fromhex("98765431") + bytes.fromhex("9344") + b"\x23\x04", "little"
    )
    module = MeterIdentity("QDS", "78563411", 0x23, 0x37)
    records = (make_record(bytes((0x79,)), behind, coding="int64"), *RECORDS[:1])
    tele = decode(encode_telegram(module, records, access_number=3))
    header = telegram_to_json(tele)["header"]
    assert header["id"] == "78563411"
    assert header["meterBehind"] == {
        "id": "31547698",
        "manufacturer": "QDS",
        "version": 0x23,
        "medium": "Heat: Outlet",
    }
    plain = decode(encode_telegram(module, RECORDS, access_number=4))
    assert "meterBehind" not in telegram_to_json(plain)["header"]
