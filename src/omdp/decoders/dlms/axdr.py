"""A-XDR coding of COSEM ``Data`` (IEC 62056-6-2 / Blue Book): every type, both ways.

Each value starts with its type tag; lengths of strings, arrays and structures use the A-XDR
length form (one byte below 0x80, else ``0x8n`` and n big-endian bytes)::

    00                    null-data              -> None
    01 n <n values>       array                  -> Array (a tuple)
    02 n <n values>       structure              -> Structure (a tuple)
    03 b                  boolean                -> bool
    04 n <ceil(n/8)>      bit-string (n bits)    -> BitString
    05 / 06               double-long (unsigned) -> int (4 bytes)
    09 n <n>              octet-string           -> bytes
    0a n <n> / 0c n <n>   visible / utf8 string  -> str
    0d / 0f / 11 / 16     bcd, integer, unsigned, enum -> int (1 byte)
    10 / 12               long (unsigned)        -> int (2 bytes)
    13 <td> <n> <bytes>   compact-array          -> Array of untagged values of type <td>
    14 / 15               long64 (unsigned)      -> int (8 bytes)
    17 / 18               float32 / float64      -> float
    19 / 1a / 1b          date-time, date, time  -> CosemDateTime (12, 5, 4 bytes)
    ff                    dont-care              -> None

Decoding is a table from tag to a reader (``_READERS``); nothing is kept between calls.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Any, Final, NoReturn

from omdp.decoders.dlms.errors import DlmsError, DlmsTruncatedError

NULL: Final = 0
ARRAY: Final = 1
STRUCTURE: Final = 2
BOOLEAN: Final = 3
BIT_STRING: Final = 4
DOUBLE_LONG: Final = 5
DOUBLE_LONG_UNSIGNED: Final = 6
OCTET_STRING: Final = 9
VISIBLE_STRING: Final = 10
UTF8_STRING: Final = 12
BCD: Final = 13
INTEGER: Final = 15
LONG: Final = 16
UNSIGNED: Final = 17
LONG_UNSIGNED: Final = 18
COMPACT_ARRAY: Final = 19
LONG64: Final = 20
LONG64_UNSIGNED: Final = 21
ENUM: Final = 22
FLOAT32: Final = 23
FLOAT64: Final = 24
DATE_TIME: Final = 25
DATE: Final = 26
TIME: Final = 27
DONT_CARE: Final = 255

_DEVIATION_UNKNOWN: Final = -0x8000


class Array(tuple[Any, ...]):
    """A COSEM array (all elements of one type)."""

    __slots__ = ()


class Structure(tuple[Any, ...]):
    """A COSEM structure (elements of any type)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class BitString:
    """A bit-string: ``bits`` as '0'/'1' text, most significant bit first."""

    bits: str


@dataclass(frozen=True, slots=True)
class CosemDateTime:
    """A COSEM date-time, date or time; fields the meter left unspecified are None.

    Attributes:
        year, month, day, hour, minute, second, hundredths: the fields (None: not specified).
        deviation: minutes from local time to UTC as the meter sends it (local = UTC - deviation),
            None when not specified.
        status: the clock-status byte (0x80: daylight saving active), None when not specified.
    """

    year: int | None = None
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    hundredths: int | None = None
    deviation: int | None = None
    status: int | None = None

    def to_datetime(self, default_tz: tzinfo = UTC) -> datetime | None:
        """The moment as an aware datetime; ``default_tz`` when the meter gave no deviation.

        Returns:
            None when the date or time is not fully specified.
        """
        year, month, day, hour, minute = self.year, self.month, self.day, self.hour, self.minute
        if year is None or month is None or day is None or hour is None or minute is None:
            return None
        tz = default_tz
        if self.deviation is not None:
            tz = timezone(timedelta(minutes=-self.deviation))
        micro = (self.hundredths or 0) * 10_000
        try:
            return datetime(year, month, day, hour, minute, self.second or 0, micro, tzinfo=tz)
        except ValueError:
            return None


def _unspecified(value: int, missing: int) -> int | None:
    return None if value == missing else value


def parse_date_time(raw: bytes) -> CosemDateTime:
    """Read the 12-byte date-time form (also found inside octet-strings).

    Raises:
        DlmsError: not 12 bytes.
    """
    if len(raw) != 12:
        msg = f"a COSEM date-time has 12 bytes, got {len(raw)}"
        raise DlmsError(msg)
    year, month, day, _dow, hour, minute, second, hundredths, deviation, status = struct.unpack(
        ">HBBBBBBBhB", raw
    )
    return CosemDateTime(
        year=_unspecified(year, 0xFFFF),
        month=month if 1 <= month <= 12 else None,
        day=day if 1 <= day <= 31 else None,
        hour=_unspecified(hour, 0xFF),
        minute=_unspecified(minute, 0xFF),
        second=_unspecified(second, 0xFF),
        hundredths=_unspecified(hundredths, 0xFF),
        deviation=None if deviation == _DEVIATION_UNKNOWN else deviation,
        status=_unspecified(status, 0xFF),
    )


def looks_like_date_time(raw: bytes) -> bool:
    """Whether an octet-string is plausibly a date-time (pushes often send them that way)."""
    if len(raw) != 12:
        return False
    year = (raw[0] << 8) | raw[1]
    return (1990 <= year <= 2199 or year == 0xFFFF) and (1 <= raw[2] <= 12 or raw[2] >= 0xFD)


class Reader:
    """A cursor over one buffer; raises :class:`DlmsTruncatedError` past its end."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        """Read ``buf`` from ``pos``."""
        self.buf = buf
        self.pos = pos

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes."""
        end = self.pos + n
        if end > len(self.buf):
            msg = f"data ends after {len(self.buf)} bytes, {end - len(self.buf)} more needed"
            raise DlmsTruncatedError(msg, offset=len(self.buf))
        out = self.buf[self.pos : end]
        self.pos = end
        return out

    def byte(self) -> int:
        """The next byte."""
        if self.pos >= len(self.buf):
            msg = "data ends where one more byte is needed"
            raise DlmsTruncatedError(msg, offset=self.pos)
        value = self.buf[self.pos]
        self.pos += 1
        return value

    def length(self) -> int:
        """An A-XDR length."""
        first = self.byte()
        if first < 0x80:
            return first
        count = first & 0x7F
        if not 1 <= count <= 4:
            msg = f"A-XDR length with {count} length bytes"
            raise DlmsError(msg, offset=self.pos - 1)
        return int.from_bytes(self.take(count), "big")

    @property
    def remaining(self) -> int:
        """Bytes not yet read."""
        return len(self.buf) - self.pos


def _fixed(fmt: str) -> Callable[[Reader], Any]:
    size = struct.calcsize(fmt)

    def read(r: Reader) -> Any:
        return struct.unpack(fmt, r.take(size))[0]

    return read


def _octets(r: Reader) -> bytes:
    return bytes(r.take(r.length()))


def _visible(r: Reader) -> str:
    return r.take(r.length()).decode("latin-1")


def _utf8(r: Reader) -> str:
    raw = r.take(r.length())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"utf8-string is not UTF-8: {exc.reason}"
        raise DlmsError(msg, offset=r.pos) from None


def _bits(r: Reader) -> BitString:
    count = r.length()
    raw = r.take((count + 7) // 8)
    return BitString("".join(f"{b:08b}" for b in raw)[:count])


def _date_time(r: Reader) -> CosemDateTime:
    return parse_date_time(r.take(12))


def _date(r: Reader) -> CosemDateTime:
    year, month, day, _dow = struct.unpack(">HBBB", r.take(5))
    return CosemDateTime(
        year=_unspecified(year, 0xFFFF),
        month=month if 1 <= month <= 12 else None,
        day=day if 1 <= day <= 31 else None,
    )


def _time(r: Reader) -> CosemDateTime:
    hour, minute, second, hundredths = r.take(4)
    return CosemDateTime(
        hour=_unspecified(hour, 0xFF),
        minute=_unspecified(minute, 0xFF),
        second=_unspecified(second, 0xFF),
        hundredths=_unspecified(hundredths, 0xFF),
    )


def _none(_r: Reader) -> None:
    return None


_SIMPLE: Final[Mapping[int, Callable[[Reader], Any]]] = MappingProxyType(
    {
        NULL: _none,
        BOOLEAN: lambda r: r.byte() != 0,
        BIT_STRING: _bits,
        DOUBLE_LONG: _fixed(">i"),
        DOUBLE_LONG_UNSIGNED: _fixed(">I"),
        OCTET_STRING: _octets,
        VISIBLE_STRING: _visible,
        UTF8_STRING: _utf8,
        BCD: _fixed(">b"),
        INTEGER: _fixed(">b"),
        LONG: _fixed(">h"),
        UNSIGNED: _fixed(">B"),
        LONG_UNSIGNED: _fixed(">H"),
        LONG64: _fixed(">q"),
        LONG64_UNSIGNED: _fixed(">Q"),
        ENUM: _fixed(">B"),
        FLOAT32: _fixed(">f"),
        FLOAT64: _fixed(">d"),
        DATE_TIME: _date_time,
        DATE: _date,
        TIME: _time,
        DONT_CARE: _none,
    }
)

#: the deepest nesting of arrays and structures we follow (a guard against hostile input)
MAX_DEPTH: Final = 16

_FIXED_FORMATS: Final[Mapping[int, str]] = MappingProxyType(
    {
        DOUBLE_LONG: ">i",
        DOUBLE_LONG_UNSIGNED: ">I",
        BCD: ">b",
        INTEGER: ">b",
        LONG: ">h",
        UNSIGNED: ">B",
        LONG_UNSIGNED: ">H",
        LONG64: ">q",
        LONG64_UNSIGNED: ">Q",
        ENUM: ">B",
        FLOAT32: ">f",
        FLOAT64: ">d",
    }
)
_Unpack = Callable[[bytes, int], tuple[Any, ...]]
#: fixed-size types by tag (a 256-entry tuple: indexing it is the cheapest lookup there is):
#: (size, unpacker), None for every other tag; read inline by :func:`read_data`
_FIXED: Final[tuple[tuple[int, _Unpack] | None, ...]] = tuple(
    (struct.calcsize(_FIXED_FORMATS[tag]), struct.Struct(_FIXED_FORMATS[tag]).unpack_from)
    if tag in _FIXED_FORMATS
    else None
    for tag in range(256)
)


def _truncated(what: str, at: int, size: int) -> NoReturn:
    msg = f"{what} at offset {at} needs {size} bytes, the data ends first"
    raise DlmsTruncatedError(msg, offset=at)


def read_data(r: Reader, depth: int = 0) -> Any:
    """Read one tagged COSEM Data value at the cursor.

    One loop over the bytes with an explicit stack of open arrays and structures: numbers and
    octet-strings (nearly everything a push carries) are read inline, the rarer types through
    their reader in ``_SIMPLE``. No recursion, no cursor method calls per value.
    """
    buf, pos, n = r.buf, r.pos, len(r.buf)
    if type(buf) is not bytes:  # octet-strings come out as bytes, never as views
        buf = r.buf = bytes(buf)
    fixed = _FIXED
    stack: list[tuple[list[Any], int, int]] = []
    items: list[Any] = []
    remaining = 1
    while True:
        if pos >= n:
            _truncated("a COSEM value", pos, 1)
        at = pos
        tag = buf[pos]
        pos += 1
        known = fixed[tag]
        if known is not None:
            size, unpack = known
            if pos + size > n:
                _truncated(f"a value of type 0x{tag:02X}", at, size + 1)
            value = unpack(buf, pos)[0]
            pos += size
        elif tag in (OCTET_STRING, STRUCTURE, ARRAY):
            if pos >= n:
                _truncated("an A-XDR length", pos, 1)
            length = buf[pos]
            pos += 1
            if length >= 0x80:
                r.pos = pos - 1
                length = r.length()
                pos = r.pos
            if tag == OCTET_STRING:
                end = pos + length
                if end > n:
                    _truncated("an octet-string", at, end - at)
                value = buf[pos:end]
                pos = end
            else:
                kind = "array" if tag == ARRAY else "structure"
                if length > n - pos:
                    msg = f"{kind} of {length} elements in {n - pos} bytes"
                    raise DlmsTruncatedError(msg, offset=at)
                if depth + len(stack) >= MAX_DEPTH:
                    msg = f"arrays and structures nested deeper than {MAX_DEPTH}"
                    raise DlmsError(msg, offset=at)
                if length:
                    stack.append((items, remaining, tag))
                    items, remaining = [], length
                    continue
                value = Array() if tag == ARRAY else Structure()
        elif tag == COMPACT_ARRAY:
            r.pos = pos
            value = _compact_array(r)
            pos = r.pos
        else:
            reader = _SIMPLE.get(tag)
            if reader is None:
                msg = f"unknown COSEM data type 0x{tag:02X}"
                raise DlmsError(msg, offset=at)
            r.pos = pos
            value = reader(r)
            pos = r.pos
        items.append(value)
        remaining -= 1
        while not remaining:  # close every container this value completed
            if not stack:
                r.pos = pos
                return items[0]
            done = items
            items, remaining, tag = stack.pop()
            items.append(Array(done) if tag == ARRAY else Structure(done))
            remaining -= 1


def decode_data(raw: bytes, pos: int = 0) -> tuple[Any, int]:
    """Decode one Data value from ``raw[pos:]``; return it and the position after it.

    Raises:
        DlmsError: an unknown type tag, bad text or nesting too deep.
        DlmsTruncatedError: the value is longer than the bytes.
    """
    r = Reader(raw, pos)
    return read_data(r), r.pos


# --- compact-array: a type description, then untagged values of that type ------------------


@dataclass(frozen=True, slots=True)
class _TypeDescription:
    tag: int
    count: int = 0  # array: number of elements
    members: tuple[_TypeDescription, ...] = ()


def _type_description(r: Reader, depth: int = 0) -> _TypeDescription:
    tag = r.byte()
    if depth > MAX_DEPTH:
        msg = "compact-array type description nested too deep"
        raise DlmsError(msg, offset=r.pos)
    if tag == ARRAY:
        count = int.from_bytes(r.take(2), "big")
        return _TypeDescription(tag, count, (_type_description(r, depth + 1),))
    if tag == STRUCTURE:
        n = r.length()
        return _TypeDescription(tag, n, tuple(_type_description(r, depth + 1) for _ in range(n)))
    return _TypeDescription(tag)


def _untagged(r: Reader, td: _TypeDescription) -> Any:
    if td.tag == ARRAY:
        return Array(_untagged(r, td.members[0]) for _ in range(td.count))
    if td.tag == STRUCTURE:
        return Structure(_untagged(r, m) for m in td.members)
    reader = _SIMPLE.get(td.tag)
    if reader is None:
        msg = f"compact-array of unknown type 0x{td.tag:02X}"
        raise DlmsError(msg, offset=r.pos)
    return reader(r)


def _compact_array(r: Reader) -> Array:
    td = _type_description(r)
    contents = Reader(r.take(r.length()))
    items = []
    while contents.remaining:
        items.append(_untagged(contents, td))
    return Array(items)


# --- encoding (for simulators and tests) -----------------------------------------------------


def encode_length(n: int) -> bytes:
    """The A-XDR length form of ``n``."""
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


@dataclass(frozen=True, slots=True)
class Typed:
    """A value with an explicit COSEM type tag, for :func:`encode_data`."""

    tag: int
    value: Any


_PACK: Final[Mapping[int, str]] = MappingProxyType({**_FIXED_FORMATS, BOOLEAN: ">?"})


def encode_date_time(moment: datetime) -> bytes:
    """The 12-byte COSEM date-time of an aware ``moment`` (its offset as the deviation)."""
    offset = moment.utcoffset()
    deviation = _DEVIATION_UNKNOWN if offset is None else -int(offset.total_seconds() // 60)
    return struct.pack(
        ">HBBBBBBBhB",
        moment.year,
        moment.month,
        moment.day,
        moment.isoweekday(),
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 10_000,
        deviation,
        0,
    )


def encode_data(value: Any) -> bytes:
    """Encode a value: Typed, Array, Structure, bytes (octet-string), str (visible-string),
    bool, None (null-data), datetime (date-time); a bare int becomes double-long-unsigned
    (or double-long when negative).
    """
    if isinstance(value, Typed):
        tag = value.tag
        if tag in _PACK:
            return bytes((tag,)) + struct.pack(_PACK[tag], value.value)
        if tag == DATE_TIME:
            return bytes((tag,)) + encode_date_time(value.value)
        if tag in (OCTET_STRING, VISIBLE_STRING, UTF8_STRING):
            raw = value.value if isinstance(value.value, bytes) else value.value.encode()
            return bytes((tag,)) + encode_length(len(raw)) + raw
        msg = f"cannot encode COSEM type 0x{tag:02X}"
        raise ValueError(msg)
    if isinstance(value, Array | Structure):
        tag = ARRAY if isinstance(value, Array) else STRUCTURE
        body = b"".join(encode_data(v) for v in value)
        return bytes((tag,)) + encode_length(len(value)) + body
    if value is None:
        return bytes((NULL,))
    if isinstance(value, bool):
        return bytes((BOOLEAN, int(value)))
    if isinstance(value, int):
        tag = DOUBLE_LONG if value < 0 else DOUBLE_LONG_UNSIGNED
        return encode_data(Typed(tag, value))
    if isinstance(value, bytes):
        return encode_data(Typed(OCTET_STRING, value))
    if isinstance(value, str):
        return encode_data(Typed(VISIBLE_STRING, value))
    if isinstance(value, datetime):
        return encode_data(Typed(OCTET_STRING, encode_date_time(value)))
    msg = f"cannot encode {type(value).__name__} as COSEM data"
    raise ValueError(msg)
