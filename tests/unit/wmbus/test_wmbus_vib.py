"""EN 13757-3:2018 value information as radio telegrams use it (AD-1): the whole VIB, read once.

Each case is a record as a meter sends it (DIB, VIB, data) and what it means: quantity, unit,
value. The wired decoder parses the structure; :mod:`omdp.decoders.wmbus.vib` and
:mod:`omdp.decoders.wmbus.reread` give the meaning.
"""

from __future__ import annotations

from typing import Any

import pytest

from omdp.decoders.mbus.records import parse_records
from omdp.decoders.wmbus import decode, parse_key
from omdp.decoders.wmbus.encode import MeterIdentity, encode_raw
from omdp.decoders.wmbus.reread import reread
from omdp.decoders.wmbus.security import CHECK, des_cbc_encrypt
from omdp.decoders.wmbus.vib import meaning


def read(hex_record: str) -> list[tuple[str, str, Any, int]]:
    raw = bytes.fromhex(hex_record)
    out = []
    for record in parse_records(raw, 0, len(raw)):
        for r in reread(record):
            value = r.value
            out.append((r.quantity, r.unit, round(value, 9) if isinstance(value, float) else value,
                        r.storage_number))  # fmt: skip
    return out


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # primary VIF, as the wired tables read it
        ("0413 39300000", ("Volume", "m^3", 12.345)),
        # multiplicative correction 10^(nnn-6) after an FB extension code: 63 x 0.1 kvarh
        ("04FB8275 3F000000", ("Reactive energy", "kvarh", 6.3)),
        # additive correction 10^(nn-3) units of the VIF: 1000 x 0.001 m3 + 0.1 x 0.001 m3
        ("0493 7A E8030000", ("Volume", "m^3", 1.0001)),
        # x1000 for the value (not the unit)
        ("02 93 7D 0500", ("Volume", "m^3", 5.0)),
        # per hour turns a volume into a flow
        ("04 93 22 10000000", ("Volume flow", "m^3/h", 0.016)),
        # FB: apparent energy, frequency, reactive power
        ("04FB04 0A000000", ("Apparent energy", "kVAh", 10)),
        ("02FB2D F401", ("Frequency", "Hz", 5.0)),
        ("04FB17 07000000", ("Reactive power", "kvar", 7.0)),
        # FB: Mcal in Wh; imperial volume in m3; °F in °C
        ("04FB0D 0A000000", ("Energy", "Wh", 11630.0)),
        ("04FB22 64000000", ("Volume", "m^3", 0.378541178)),
        ("02FB5B D400", ("Flow temperature", "°C", 100.0)),
        # FD: remaining battery life in days; FD FD 03: in years (as seconds)
        ("02FD74 6D01", ("Remaining battery life", "d", 365)),
        ("01FDFD03 0A", ("Remaining battery life", "s", 315576000)),
        # FD 71: the RF level in dBm
        ("01FD71 B5", ("RF level", "dBm", -75)),
        # the number of exceedances of the upper limit is a count, its date a date
        ("01 93 49 03", ("Volume: number of upper limit exceedances", "", 3)),
        # the duration of the first exceedance of the upper limit, in minutes (E101 u f nn)
        ("02 93 59 0500", ("Volume: duration of first upper limit exceedance", "s", 300)),
        # plain-text VIF naming a gas: ppm
        ("027C03324F43 0001", ("CO2", "ppm", 256)),
        # manufacturer-specific VIFE FF: the VIF's meaning stays (eBZ phase powers)
        ("04A9FF01 E8030000", ("Power", "W", 10.0)),
        # manufacturer-specific VIF: the number, without a unit
        ("04FF07 F8FF0000", ("Manufacturer specific", "", 65528)),
    ],
)
def test_vib_meanings(record: str, expected: tuple[str, str, Any]) -> None:
    """AD-1: the 2018 VIF/VIFE tables, corrections and unit conversions."""
    ((quantity, unit, value, _storage),) = read(record.replace(" ", ""))
    assert (quantity, unit) == expected[:2]
    assert value == pytest.approx(expected[2])


def test_start_date_of_and_limit_dates_are_dates() -> None:
    assert meaning(bytes.fromhex("9339")).quantity == "Start date of Volume"
    ((quantity, _, value, _),) = read("02 93 39 9F2C")  # type G 2020-12-31
    assert quantity == "Start date of Volume"
    assert value.isoformat() == "2020-12-31"
    assert "date of" in meaning(bytes.fromhex("934B")).quantity


def test_bcd_all_f_has_no_value() -> None:
    assert read("0C13FFFFFFFF")[0][2] is None


def test_compact_profile_increments_become_records() -> None:
    """AD-1: a compact profile (VIFE 1F): spacing control 0x72 = positive increments, monthly
    (0xFE), 2-byte integers; each element its own record, storage numbers counting on."""
    elements = bytes.fromhex("0000 0300 1600")
    record = "8D04EE1F" + f"{2 + len(elements):02X}" + "72FE" + elements.hex()
    rows = read(record)
    assert [r[2] for r in rows] == [0, 3, 22]
    assert [r[3] for r in rows] == [9, 10, 11]  # the profile's storage number is 8
    assert rows[0][0] == "H.C.A. increment"


def test_inverse_compact_profile_absolute_values_and_invalid_elements() -> None:
    """VIFE 13 (inverse profile), spacing control 0x34: absolute 4-byte values; 0x80000000 is
    the integer coding's "no value"."""
    record = "8D0F9313" + "0A" + "34FE" + "E8030000" + "00000080"
    rows = read(record)
    assert [(r[0], r[2]) for r in rows] == [("Volume", 1.0), ("Volume", None)]


def test_des_security_mode_2() -> None:
    """Security mode 2 (DES-CBC, IV zero) with an 8-byte key; a wrong key is refused."""
    meter = MeterIdentity("ALK", "00000001", 0x04, 0x07)
    key = parse_key("0102030405060708")
    plain = CHECK + bytes.fromhex("0413E8030000") + b"\x2f" * 8
    head = bytes((1, 0)) + (0x0210).to_bytes(2, "little")  # access number, status, mode 2
    raw = encode_raw(meter, 0x7A, head + des_cbc_encrypt(key, bytes(8), plain))
    tele = decode(raw, key=key)
    assert tele.security == "des"
    assert [(r.quantity, r.value) for r in tele.records] == [("Volume", 1.0)]
    with pytest.raises(Exception, match="wrong key"):
        decode(raw, key=bytes(8))


def test_driver_detection_ignores_bit_15_of_the_m_field() -> None:
    """Bit 15 of the M-field (an address not globally unique) is not the manufacturer's."""
    meter = MeterIdentity("APT", "00123456", 0x03, 0x03)
    raw = bytearray(encode_raw(meter, 0xA0, (3000).to_bytes(4, "little") + bytes(6)))
    raw[3] |= 0x80
    tele = decode(bytes(raw))
    assert tele.manufacturer == "APT"
    assert tele.driver == "apator_08"
    assert tele.values["total_m3"][0] == pytest.approx(1.0)  # 3000 thirds of a litre
