"""IEC 62056-21 readouts (D0 heads, modes A-D): values as stated, BCC and CRC checked (DM-*)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omdp.decoders.iec62056_21 import bcc, decode_readout, is_readout
from omdp.errors import ChecksumError, DecodeError

FRAMES = Path(__file__).resolve().parents[2] / "frames" / "iec62056_21"
CASES = sorted(p.stem for p in FRAMES.glob("*.json"))


@pytest.mark.parametrize("name", CASES)
def test_readout_values_as_stated(name: str) -> None:
    data = (FRAMES / f"{name}.txt").read_bytes()
    doc = json.loads((FRAMES / f"{name}.json").read_text())
    assert is_readout(data)
    telegram = decode_readout(data)
    got = {str(v.obis): v.value for v in telegram.values}
    for code, want in doc["values"].items():
        assert float(got[code]) == pytest.approx(want)
    assert telegram.timestamp is not None


def test_crc_mismatch_is_reported() -> None:
    data = (FRAMES / "landis-gyr-e360-se.txt").read_bytes().replace(b"896.020", b"896.021")
    with pytest.raises(ChecksumError, match="CRC A077"):
        decode_readout(data)


def _mode_c(body: bytes) -> bytes:
    return b"/ISk5MT174-0001\r\n\x02" + body + bytes((bcc(body),))


def test_mode_c_block_with_bcc_and_short_addresses() -> None:
    body = b"0.0.0(12345678)\r\n1.8.1(000004.079*kWh)(000001.000*kWh)\r\nF.F(00000000)\r\n!\r\n\x03"
    telegram = decode_readout(_mode_c(body))
    values = {str(v.obis): v for v in telegram.values}
    assert str(values["1-0:1.8.1"].value) == "1.000"
    assert values["1-0:1.8.1"].unit == "kWh"
    assert telegram.meter_id == "12345678"


def test_bad_bcc_and_truncation() -> None:
    frame = bytearray(_mode_c(b"1.8.0(000001.000*kWh)\r\n!\r\n\x03"))
    frame[-1] ^= 0xFF
    with pytest.raises(ChecksumError, match="BCC"):
        decode_readout(bytes(frame))
    with pytest.raises(DecodeError, match="truncated"):
        decode_readout(b"/ISk5MT174-0001\r\n\x021.8.0(000001.000*kWh)\r\n")
