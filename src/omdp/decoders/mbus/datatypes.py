"""EN 13757-3 data field codings: integers, BCD, REAL32, dates and times, LVAR strings.

Decoders take the data bytes in wire order (least significant byte first) and follow libmbus
where the standard leaves room (BCD with A-F nibbles, century of type F dates). Encoders are the
exact inverses for every value the decoders produce from a well-formed field.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime

from omdp.decoders.mbus.errors import MBusEncodeError

_REAL = struct.Struct("<f")


@dataclass(frozen=True, slots=True)
class DateTimeValue:
    """A date or date-time as the meter sent it (its local time, no zone).

    ``coding`` is ``"G"`` (date), ``"F"`` (date and minute), ``"I"`` (date and second) or ``"J"``
    (time of day). Fields are zero where the coding has none; an invalid date (IV bit) has
    ``invalid`` set and all fields zero, as libmbus prints it.
    """

    coding: str
    year: int = 0
    month: int = 0
    day: int = 0
    hour: int = 0
    minute: int = 0
    second: int = 0
    invalid: bool = False
    summer_time: bool = False

    def isoformat(self) -> str:
        """Return ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM:SS`` or ``HH:MM:SS`` (no zone)."""
        if self.coding == "J":
            return f"{self.hour:02d}:{self.minute:02d}:{self.second:02d}"
        if self.invalid:
            return "1900-01-00" if self.coding == "G" else "1900-01-00T00:00:00"
        date = f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        if self.coding == "G":
            return date
        return f"{date}T{self.hour:02d}:{self.minute:02d}:{self.second:02d}"

    def to_datetime(self) -> datetime | None:
        """Return a naive datetime, or ``None`` when the fields are not a real date."""
        if self.invalid or self.coding == "J":
            return None
        try:
            return datetime(self.year, self.month, self.day, self.hour, self.minute, self.second)
        except ValueError:
            return None


def decode_int(data: bytes) -> int:
    """Decode a signed little-endian integer of 1 to 8 bytes."""
    return int.from_bytes(data, "little", signed=True)


def encode_int(value: int, length: int) -> bytes:
    """Encode a signed integer into ``length`` little-endian bytes."""
    try:
        return value.to_bytes(length, "little", signed=True)
    except OverflowError as exc:
        msg = f"{value} does not fit in {length * 8} bits"
        raise MBusEncodeError(msg) from exc


def decode_bcd(data: bytes) -> int:
    """Decode packed BCD, least significant byte first; ``F`` in the top nibble means negative.

    High nibbles A-F count as 0 and low nibbles are added as they are (libmbus's rule).
    """
    value = 0
    for byte in reversed(data):
        high = byte >> 4
        value = value * 100 + (high * 10 if high < 10 else 0) + (byte & 0x0F)
    if data and data[-1] >> 4 == 0x0F:
        return -value
    return value


def encode_bcd(value: int, length: int) -> bytes:
    """Encode an integer as ``length`` bytes of BCD; negative numbers get an ``F`` top nibble."""
    digits = str(abs(value)).rjust(2 * length, "0")
    if len(digits) > 2 * length or (value < 0 and digits[0] != "0"):
        msg = f"{value} does not fit in {2 * length} BCD digits"
        raise MBusEncodeError(msg)
    raw = bytes.fromhex(digits)
    if value < 0:
        raw = bytes((raw[0] | 0xF0,)) + raw[1:]
    return raw[::-1]


def decode_real(data: bytes) -> float:
    """Decode an IEEE 754 single-precision float (REAL32), little-endian."""
    return float(_REAL.unpack(data)[0])


def encode_real(value: float) -> bytes:
    """Encode a float as REAL32, little-endian."""
    return _REAL.pack(value)


def decode_date(data: bytes) -> DateTimeValue:
    """Decode a type G (2 bytes), J (3), F (4) or I (6) date/time field.

    Raises:
        ValueError: the length fits no date coding (the caller turns it into a decode error).
    """
    n = len(data)
    if n == 2:
        b0, b1 = data
        year = ((b0 & 0xE0) >> 5) | ((b1 & 0xF0) >> 1)
        return DateTimeValue("G", 2000 + year, b1 & 0x0F, b0 & 0x1F)
    if n == 4:
        b0, b1, b2, b3 = data
        if b0 & 0x80:
            return DateTimeValue("F", invalid=True)
        year = ((b2 & 0xE0) >> 5) | ((b3 & 0xF0) >> 1)
        hundreds = (b1 & 0x60) >> 5
        full = 2000 + year if hundreds == 0 and year <= 80 else 1900 + 100 * hundreds + year
        return DateTimeValue(
            "F",
            full,
            b3 & 0x0F,
            b2 & 0x1F,
            b1 & 0x1F,
            b0 & 0x3F,
            summer_time=bool(b1 & 0x80),
        )
    if n == 6:
        b0, b1, b2, b3, b4, _ = data
        if b1 & 0x80:
            return DateTimeValue("I", invalid=True)
        year = ((b3 & 0xE0) >> 5) | ((b4 & 0xF0) >> 1)
        return DateTimeValue(
            "I",
            2000 + year,
            b4 & 0x0F,
            b3 & 0x1F,
            b2 & 0x1F,
            b1 & 0x3F,
            b0 & 0x3F,
            summer_time=bool(b2 & 0x80),
        )
    if n == 3:
        return DateTimeValue("J", hour=data[2] & 0x1F, minute=data[1] & 0x3F, second=data[0] & 0x3F)
    msg = f"no date/time coding is {n} bytes long"
    raise ValueError(msg)


def encode_date(value: DateTimeValue) -> bytes:
    """Encode a :class:`DateTimeValue` in its own coding (the inverse of :func:`decode_date`)."""
    if value.coding == "J":
        return bytes((value.second & 0x3F, value.minute & 0x3F, value.hour & 0x1F))
    yy = value.year - 2000  # types G and I count from 2000 (7 bits)
    if value.coding == "G":
        return bytes(((yy & 0x07) << 5 | value.day, (yy & 0x78) << 1 | value.month))
    if value.coding == "F":
        if value.invalid:
            return b"\x80\x00\x00\x00"
        if not 1981 <= value.year <= 2099:
            msg = f"type F cannot hold year {value.year}"
            raise MBusEncodeError(msg)
        yy = value.year % 100
        hundreds = 0x20 if value.year > 2080 else 0
        return bytes(
            (
                value.minute,
                value.hour | hundreds | (0x80 if value.summer_time else 0),
                (yy & 0x07) << 5 | value.day,
                (yy & 0x78) << 1 | value.month,
            )
        )
    if value.coding == "I":
        if value.invalid:
            return b"\x00\x80\x00\x00\x00\x00"
        return bytes(
            (
                value.second,
                value.minute,
                value.hour | (0x80 if value.summer_time else 0),
                (yy & 0x07) << 5 | value.day,
                (yy & 0x78) << 1 | value.month,
                0,
            )
        )
    msg = f"unknown date coding {value.coding!r}"
    raise MBusEncodeError(msg)


def decode_text(data: bytes) -> str:
    """Decode an LVAR/plain-text string: ISO-8859-1, stored back to front on the wire."""
    return data[::-1].decode("latin-1")


def encode_text(text: str) -> bytes:
    """Encode a string for an LVAR or plain-text field (back to front, ISO-8859-1)."""
    try:
        return text.encode("latin-1")[::-1]
    except UnicodeEncodeError as exc:
        msg = f"{text!r} is not ISO-8859-1"
        raise MBusEncodeError(msg) from exc
