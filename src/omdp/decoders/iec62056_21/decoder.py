"""Decode an IEC 62056-21 data readout (modes A-D), as a D0 optical head receives it.

Wire layout of the meter's data message::

    /XXXZident CR LF                       identification: manufacturer XXX, baud letter Z
    [CR LF]
    STX                                    (modes A-C; mode D sends no STX/ETX)
    1-0:1.8.0(00000896.020*kWh) CR LF      data sets: address(value*unit), several per line
    1.8.1(000004.079*kWh)(...)             addresses also short (C.D.E) or with letters (F.F)
    ! CR LF                                end of the data block
    ETX BCC                                BCC: XOR of every byte after STX up to ETX
    (P1-style heads: "!XXXX" with a CRC16/ARC from "/" to "!" instead of STX/ETX/BCC)

Values are exact (Decimal for numbers with a point); ``YYMMDDhhmmss[W|S]`` is a time (W winter,
S summer: +01:00/+02:00, else the given zone). Addresses that are not OBIS codes are skipped.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Final

from omdp.decoders.dsmr.crc import crc16_arc
from omdp.decoders.obis_values import ObisValue, Telegram, Value
from omdp.domain.obis import ObisCode
from omdp.errors import ChecksumError, DecodeError

STX: Final = 0x02
ETX: Final = 0x03
_LETTERS: Final = {"C": 96, "F": 97, "L": 98, "P": 99}
_DATASET: Final = re.compile(
    rb"(?P<address>(?:\d{1,3}-\d{1,3}:)?[0-9A-Z]{1,3}\.[0-9A-Z]{1,3}(?:\.\d{1,3})?(?:[*&]\d{1,3})?)"
    rb"(?P<values>(?:\([^()\r\n]*\))+)"
)
_VALUE: Final = re.compile(rb"\(([^()\r\n]*)\)")
_TIME: Final = re.compile(r"^(\d{12})([WS]?)$")
_METER_IDS: Final = ("0-0:96.1.0", "0-0:96.1.1", "0-0:C.1.0", "1-0:0.0.0", "0-0:0.0.0")
_UNITS: Final = {"kVArh": "kvarh", "kVAr": "kvar", "VArh": "varh", "VAr": "var"}


def bcc(data: bytes) -> int:
    """The block check character: XOR of ``data``."""
    out = 0
    for b in data:
        out ^= b
    return out


def is_readout(data: bytes) -> bool:
    """Whether ``data`` looks like a D0/P1 readout (an identification line, then data)."""
    start = data.find(b"/")
    return start >= 0 and start < 16 and b"(" in data[start:] and b"!" in data[start:]


def _group(text: str) -> int:
    return _LETTERS[text] if text in _LETTERS else int(text)


def _address(raw: str) -> ObisCode | None:
    ab, sep, cde = raw.partition(":")
    if not sep:
        ab, cde = "", raw
    cde = re.split(r"[*&]", cde)[0]
    parts = cde.split(".")
    try:
        c, d = _group(parts[0]), _group(parts[1])
        e = int(parts[2]) if len(parts) > 2 else 0
        a, b = (int(x) for x in ab.split("-")) if ab else (1 if c < 96 else 0, 0)
        return ObisCode(a, b, c, d, e)
    except (KeyError, ValueError, IndexError):
        return None


def _time(text: str, tz: tzinfo) -> datetime | None:
    m = _TIME.match(text)
    if not m:
        return None
    zone = {"W": timezone(timedelta(hours=1)), "S": timezone(timedelta(hours=2))}.get(m[2], tz)
    try:
        return datetime.strptime(m[1], "%y%m%d%H%M%S").replace(tzinfo=zone)
    except ValueError:
        return None


def _number(text: str) -> Value:
    try:
        return int(text) if text.lstrip("-").isdigit() else Decimal(text)
    except InvalidOperation:
        return text


def _block(data: bytes) -> tuple[bytes, bytes]:
    """Identification line and data block, checksums verified."""
    start = data.find(b"/")
    if start < 0:
        msg = "no identification line (/XXXZident) in the readout"
        raise DecodeError(msg, offset=0)
    ident_end = data.find(b"\r\n", start)
    if ident_end < 0:
        msg = "identification line is not terminated (truncated readout)"
        raise DecodeError(msg, offset=len(data))
    ident = data[start + 1 : ident_end]
    stx = data.find(bytes((STX,)), ident_end)
    if stx >= 0:
        etx = data.find(bytes((ETX,)), stx)
        if etx < 0 or etx + 1 >= len(data):
            msg = "data block has no ETX and BCC (truncated readout)"
            raise DecodeError(msg, offset=len(data))
        want, got = data[etx + 1], bcc(data[stx + 1 : etx + 1])
        if want != got:
            msg = f"BCC 0x{want:02X} does not match the data block (computed 0x{got:02X})"
            raise ChecksumError(msg, offset=etx + 1)
        return ident, data[stx + 1 : etx]
    end = data.find(b"!", ident_end)
    if end < 0:
        msg = "data block has no end line '!' (truncated readout)"
        raise DecodeError(msg, offset=len(data))
    crc_text = data[end + 1 : end + 5]
    if len(crc_text) == 4 and re.fullmatch(rb"[0-9A-Fa-f]{4}", crc_text):
        got = crc16_arc(data[start : end + 1])
        if int(crc_text, 16) != got:
            msg = f"CRC {crc_text.decode()} does not match the readout (computed {got:04X})"
            raise ChecksumError(msg, offset=end + 1)
    return ident, data[ident_end:end]


def decode_readout(data: bytes, *, tz: tzinfo = timezone.utc) -> Telegram:  # noqa: UP017
    """Decode one readout: every data set with an OBIS address.

    Raises:
        ChecksumError: BCC or CRC mismatch.
        DecodeError: no identification line, or truncated.
    """
    ident, block = _block(data)
    values: list[ObisValue] = []
    stamp: datetime | None = None
    for m in _DATASET.finditer(block):
        code = _address(m["address"].decode("ascii"))
        if code is None:
            continue
        fields = [v.decode("latin-1") for v in _VALUE.findall(m["values"])]
        moment = None
        if fields and _time(fields[0], tz) and len(fields) > 1:  # capture time, then value
            moment = _time(fields[0], tz)
            fields = fields[1:]
        text, _star, unit = fields[-1].partition("*") if fields else ("", "", "")
        if not text:
            continue
        when = _time(text, tz)
        if when is not None:
            stamp = stamp or when
            values.append(ObisValue(code, when.isoformat(), None, when))
            continue
        value = _number(text)
        values.append(ObisValue(code, value, _UNITS.get(unit, unit) or None, moment))
    meter_id = next(
        (str(v.value) for c in _METER_IDS for v in values if str(v.obis) == str(ObisCode.parse(c))),
        ident.decode("latin-1").strip(),
    )
    return Telegram("d0", meter_id, stamp, tuple(values))
