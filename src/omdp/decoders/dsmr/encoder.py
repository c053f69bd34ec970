"""Write DSMR P1 telegrams (DSMR 4/5 layout, CRC16/ARC) for simulators and tests.

Numbers are written in the fixed widths of DSMR 5.0.2 where the table :data:`FORMATS` knows the
quantity (``1-0:1.8.1(000004.426*kWh)``), else as given. Timestamps are the meter's wall-clock
time with S (summer) or W (winter).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from omdp.decoders.dsmr.crc import crc16_arc
from omdp.decoders.obis_values import ObisValue, Value
from omdp.domain.obis import ObisCode
from omdp.errors import DecodeError

#: (C, D) -> (integer digits, decimals) as DSMR 5.0.2 writes the quantity
FORMATS: Final[Mapping[tuple[int, int], tuple[int, int]]] = MappingProxyType(
    {
        (1, 8): (6, 3),
        (2, 8): (6, 3),
        (1, 7): (2, 3),
        (2, 7): (2, 3),
        **{(c, 7): (2, 3) for c in (21, 22, 41, 42, 61, 62)},
        **{(c, 7): (4, 1) for c in (32, 52, 72)},
        **{(c, 7): (3, 0) for c in (31, 51, 71)},
        (24, 2): (5, 3),
    }
)
_TIMESTAMP: Final = ObisCode.parse("0-0:1.0.0")


def dsmr_timestamp(moment: datetime, tz: ZoneInfo) -> str:
    """Format ``moment`` as DSMR ``YYMMDDhhmmssX`` in zone ``tz`` (X: S summer, W winter).

    Args:
        moment: an aware datetime.
        tz: the meter's time zone.

    Returns:
        The 13-character DSMR timestamp.
    """
    local = moment.astimezone(tz)
    return local.strftime("%y%m%d%H%M%S") + ("S" if local.dst() else "W")


def _number(code: ObisCode, value: Value) -> str:
    if isinstance(value, str):
        return value
    digits = FORMATS.get((code.c, code.d))
    if digits is None:
        return str(value)
    whole, decimals = digits
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    quantized = exact.quantize(Decimal(1).scaleb(-decimals))
    width = whole + (decimals + 1 if decimals else 0)
    return f"{quantized:0{width}f}"


def _line(item: ObisValue, tz: ZoneInfo) -> str:
    text = _number(item.obis, item.value)
    if item.unit:
        text = f"{text}*{item.unit}"
    if item.channel is not None and item.timestamp is not None:
        return f"{item.obis.reduced}({dsmr_timestamp(item.timestamp, tz)})({text})"
    return f"{item.obis.reduced}({text})"


def encode_telegram(
    values: Iterable[ObisValue],
    *,
    header: str = "ISK5\\2M550T-1012",
    timestamp: datetime | None = None,
    meter_id: str | None = None,
    version: str | None = "50",
    tz: ZoneInfo | None = None,
    crc: bool = True,
) -> bytes:
    """Build one P1 telegram.

    Args:
        values: the value lines, in order. A value with a channel and a timestamp is written as an
            M-Bus reading ``0-n:24.2.1(time)(value*unit)``.
        header: identification line without the leading ``/``.
        timestamp: the telegram time, written as 0-0:1.0.0; None leaves the line out.
        meter_id: written as 0-0:96.1.1 (DSMR writes it hex-encoded; pass it as it should appear).
        version: P1 version written as 1-3:0.2.8 (``"50"``, ``"42"``); None leaves it out.
        tz: the meter's zone for timestamps (default Europe/Amsterdam).
        crc: append the CRC16/ARC (DSMR 4+); False writes a bare ``!`` as DSMR 2.2/3 do.

    Returns:
        The telegram bytes, CRLF line ends, from ``/`` to ``!XXXX\\r\\n``.

    Raises:
        DecodeError: a text value holds a character that cannot go on a P1 line.
    """
    zone = tz or ZoneInfo("Europe/Amsterdam")
    lines = [f"/{header}", ""]
    if version is not None:
        lines.append(f"1-3:0.2.8({version})")
    if timestamp is not None:
        lines.append(f"{_TIMESTAMP.reduced}({dsmr_timestamp(timestamp, zone)})")
    if meter_id is not None:
        lines.append(f"0-0:96.1.1({meter_id})")
    lines.extend(_line(item, zone) for item in values)
    body = "\r\n".join(lines) + "\r\n!"
    try:
        raw = body.encode("ascii")
    except UnicodeEncodeError as exc:
        msg = f"a P1 telegram is ASCII: {exc}"
        raise DecodeError(msg) from exc
    if not crc:
        return raw + b"\r\n"
    return raw + f"{crc16_arc(raw):04X}\r\n".encode("ascii")
