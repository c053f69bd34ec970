"""The Austrian customer interfaces' lists without OBIS codes, as their operators send them
(AD-2, DM-*): Wiener Netze (AM550, E450: clock and eight registers; IM350: the meter number
first), and the IDIS-style pushes of Kaernten Netz and others (push setup name, meter number,
time, date, six registers, optionally two texts).

The pushes here are built by our encoder in the structure those meters send (checked against
real pushes posted publicly with their keys, whose licences do not let us copy them); the value
order and types are what the profiles must recognise.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from omdp.adapter.sources.dlms import dlms_hints
from omdp.decoders.dlms import DlmsKeys, Structure, Typed, axdr, decode_capture, encode_data
from omdp.decoders.dlms.axdr import encode_date_time
from omdp.decoders.dlms.encoder import hdlc_frames
from omdp.decoders.dlms.security import ENCRYPTED, encrypt

KEY = DlmsKeys.from_hex("00112233445566778899AABBCCDDEEFF")
VIENNA = timezone(timedelta(hours=2))
MOMENT = datetime(2021, 10, 21, 6, 44, 2, tzinfo=VIENNA)
REGISTERS = (855, 246, 103, 169, 412, 0, 7, 0)  # +A -A +R -R (Wh, varh), +P -P +Q -Q (W, var)
CODES = ("1-0:1.8.0", "1-0:2.8.0", "1-0:3.8.0", "1-0:4.8.0",
         "1-0:1.7.0", "1-0:2.7.0", "1-0:3.7.0", "1-0:4.7.0")  # fmt: skip
UNITS = ("Wh", "Wh", "varh", "varh", "W", "W", "var", "var")
PUSH_SETUP = bytes((0, 6, 25, 9, 0, 255))  # 0-6:25.9.0, the name IDIS pushes open with


def _dlu(value: int) -> Typed:
    return Typed(axdr.DOUBLE_LONG_UNSIGNED, value)


def _push(body: list[Any], *, counter: int = 1_104_354) -> bytes:
    """A Data-Notification with ``body``, ciphered (security control 0x20), in an HDLC frame."""
    plain = (
        b"\x0f" + counter.to_bytes(4, "big") + b"\x0c" + encode_date_time(MOMENT)
        + encode_data(Structure(body))
    )  # fmt: skip
    apdu = encrypt(plain, KEY, system_title=b"ISKit<\x10?", frame_counter=counter,
                   security_control=ENCRYPTED)  # fmt: skip
    return hdlc_frames(apdu)


def _values(frame: bytes, profile: str) -> tuple[dict[str, Any], Any]:
    result = decode_capture(frame, keys=KEY, hints=dlms_hints(profile))
    assert result.problems == []
    [push] = result.pushes
    assert push.unlabelled == ()
    assert push.security == "encrypted"
    return {str(v.obis): (v.value, v.unit) for v in push.telegram.values}, push.telegram


def _expect_registers(got: dict[str, Any], count: int = 8) -> None:
    for code, value, unit in list(zip(CODES, REGISTERS, UNITS, strict=True))[:count]:
        assert got[code] == (value, unit), code


@pytest.mark.parametrize(
    "profile", ["dlms-iskra-am550", "dlms-landis-gyr-e450", "dlms-siemens-im350"]
)
def test_wiener_netze_clock_and_eight_registers(profile: str) -> None:
    """Wiener Netze AM550 and E450: {clock, +A, -A, +R, -R, +P, -P, +Q, -Q} in Wh, varh, W, var."""
    body = [encode_date_time(MOMENT), *map(_dlu, REGISTERS)]
    got, telegram = _values(_push(body), profile)
    _expect_registers(got)
    assert telegram.timestamp == MOMENT
    assert got["0-0:1.0.0"][0] == MOMENT.isoformat()


@pytest.mark.parametrize(
    "profile", ["dlms-iskra-am550", "dlms-landis-gyr-e450", "dlms-siemens-im350"]
)
def test_wiener_netze_list_with_the_meter_number_first(profile: str) -> None:
    """Wiener Netze IM350 (and later firmware of the others): {meter number (16 characters),
    clock, the eight registers}."""
    body = [b"SMS1030700000042", encode_date_time(MOMENT), *map(_dlu, REGISTERS)]
    got, telegram = _values(_push(body), profile)
    _expect_registers(got)
    assert got["0-0:96.1.0"] == ("SMS1030700000042", None)
    assert telegram.meter_id == "SMS1030700000042"
    assert telegram.timestamp == MOMENT


@pytest.mark.parametrize("texts", [True, False], ids=["with-texts", "without-texts"])
@pytest.mark.parametrize("profile", ["dlms-iskra-am550", "dlms-siemens-im350"])
def test_idis_push_with_time_date_and_six_registers(profile: str, *, texts: bool) -> None:
    """Kaernten Netz and other IDIS-style pushes: the push setup's name labels nothing; the
    meter number, time and date, six registers and (or not) two customer texts follow; the
    reading's time is the notification's."""
    time_, date = bytes((6, 44, 2, 0)), bytes((0x07, 0xE5, 10, 21, 4))
    body = [PUSH_SETUP, b"1121273201353", time_, date, *map(_dlu, REGISTERS[:6])]
    if texts:
        body += [b"", b"Tarif 1"]
    got, telegram = _values(_push(body), profile)
    _expect_registers(got, count=6)
    assert "1-0:3.7.0" not in got
    assert "0-6:25.9.0" not in got
    assert telegram.meter_id == "1121273201353"
    assert telegram.timestamp == MOMENT
    if texts:
        assert got["0-0:96.13.1"] == ("Tarif 1", None)


def test_a_list_that_fits_no_layout_stays_unlabelled() -> None:
    """Nine values whose first is no 12-byte clock and whose registers are texts fit neither the
    Wiener Netze list nor the IDIS one: they are reported as unlabelled, not guessed."""
    body = [b"no clock", *([b"x"] * 8)]
    result = decode_capture(_push(body), keys=KEY, hints=dlms_hints("dlms-iskra-am550"))
    assert result.problems == []
    [push] = result.pushes
    assert len(push.unlabelled) == 9
    assert {str(v.obis) for v in push.telegram.values} == set()


def test_a_labelled_clock_of_the_wrong_size_is_text_not_an_error() -> None:
    """A 0-0:1.0.0 that is not a 12-byte date-time is shown as it is; the push decodes."""
    body = [Structure([bytes((0, 0, 1, 0, 0, 255)), b"\x0e\x37\x21\x00"])]
    result = decode_capture(_push(body), keys=KEY)
    assert result.problems == []
    clock = result.pushes[0].telegram.get("0-0:1.0.0")
    assert clock is not None
    assert clock.value == "0e372100"
