"""Write SML 1.04 transport files (as an eHZ sends them) for simulators and tests.

One file: start sequence, OpenResponse, GetListResponse with one list entry per value,
CloseResponse, fill, end sequence; every message carries its CRC16/X.25 and so does the file.
Numbers are written as signed integers with a decimal scaler (``Decimal('123.4')`` -> 1234, -1).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Final

from omdp.decoders.obis_values import ObisValue, Value
from omdp.decoders.sml.crc import crc16_x25
from omdp.decoders.sml.decoder import ESCAPE, START
from omdp.decoders.sml.units import CODES
from omdp.domain.obis import ObisCode
from omdp.errors import DecodeError

_NONE: Final = b"\x01"
_METER_ID: Final = ObisCode.parse("1-0:0.0.9")


def _tl(kind: int, length: int) -> bytes:
    """Type-length field; ``length`` counts the payload, the TL bytes are added here."""
    if length + 1 <= 0x0F:
        return bytes([kind | (length + 1)])
    total = length + 2
    if total > 0xFF:
        msg = f"SML field of {length} bytes is too long for this encoder"
        raise DecodeError(msg)
    return bytes([0x80 | kind | (total >> 4), total & 0x0F])


def _octets(raw: bytes) -> bytes:
    return _tl(0x00, len(raw)) + raw


def _unsigned(value: int, size: int) -> bytes:
    return _tl(0x60, size) + value.to_bytes(size, "big")


def _signed(value: int) -> bytes:
    size = 1
    while not -(1 << (8 * size - 1)) <= value < (1 << (8 * size - 1)):
        size += 1
    if size > 8:
        msg = f"SML integers have at most 8 bytes: {value}"
        raise DecodeError(msg)
    return _tl(0x50, size) + value.to_bytes(size, "big", signed=True)


def _seq(*items: bytes) -> bytes:
    if len(items) > 14:
        msg = "SML lists over 14 items are not supported by this encoder"
        raise DecodeError(msg)
    return bytes([0x70 | len(items)]) + b"".join(items)


def _scaled(value: Value) -> tuple[int, int]:
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    sign, digits, exponent = exact.as_tuple()
    if not isinstance(exponent, int):
        msg = f"cannot write {value!r} as an SML number"
        raise DecodeError(msg)
    mantissa = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    return mantissa, exponent


def _value_field(item: ObisValue) -> tuple[bytes, bytes]:
    """(scaler field, value field) of one entry."""
    if isinstance(item.value, str):
        raw = bytes.fromhex(item.value) if item.obis == _METER_ID else item.value.encode("latin-1")
        return _NONE, _octets(raw)
    mantissa, exponent = _scaled(item.value)
    return _signed(exponent), _signed(mantissa)


def _entry(item: ObisValue) -> bytes:
    scaler, value = _value_field(item)
    unit = _NONE if item.unit is None else _unsigned(CODES[item.unit], 1)
    return _seq(_octets(item.obis.to_bytes()), _NONE, _NONE, unit, scaler, value, _NONE)


def _time(timestamp: datetime | None, sec_index: int) -> bytes:
    if timestamp is not None:
        return _seq(_unsigned(2, 1), _unsigned(int(timestamp.timestamp()), 4))
    return _seq(_unsigned(1, 1), _unsigned(sec_index & 0xFFFFFFFF, 4))


def _message(transaction: bytes, tag: int, body: bytes) -> bytes:
    """A 6-field message: transaction id, group, abort flag, body, CRC, end marker."""
    start = (
        b"\x76"
        + _octets(transaction)
        + _unsigned(0, 1)
        + _unsigned(0, 1)
        + b"\x72"
        + _unsigned(tag, 2)
        + body
    )
    return start + _unsigned(crc16_x25(start), 2) + b"\x00"


def encode_sml(
    values: Iterable[ObisValue],
    *,
    server_id: bytes | str,
    timestamp: datetime | None = None,
    sec_index: int = 0,
    transaction: int = 0,
) -> bytes:
    """Build one SML transport file.

    Args:
        values: the list entries; strings are written as octet strings (1-0:0.0.9 as hex bytes),
            numbers as signed integers with a scaler.
        server_id: the meter's server id (bytes or hex text), e.g. ``0a01454d480000bc614e``.
        timestamp: written as the GetListResponse sensor time (SML timestamp); None writes
            ``sec_index`` as a seconds index, as most eHZ meters do.
        sec_index: the meter's seconds counter, used when ``timestamp`` is None.
        transaction: base of the three transaction ids.

    Returns:
        The escaped file with start and end sequences, fill and CRCs.

    Raises:
        DecodeError: a value cannot be written (unknown unit, integer or field too long).
    """
    server = bytes.fromhex(server_id) if isinstance(server_id, str) else server_id
    try:
        entries = [_entry(v) for v in values]
    except KeyError as exc:
        msg = f"no SML unit code for {exc}"
        raise DecodeError(msg) from exc
    val_list = bytes([0x70 | len(entries)]) if len(entries) < 15 else _long_list(len(entries))
    val_list += b"".join(entries)
    file_id = transaction.to_bytes(4, "big")
    open_body = _seq(_NONE, _NONE, _octets(file_id), _octets(server), _NONE, _NONE)
    list_body = (
        bytes([0x77])
        + _NONE
        + _octets(server)
        + _NONE
        + _time(timestamp, sec_index)
        + val_list
        + _NONE
        + _NONE
    )
    close_body = _seq(_NONE)
    bodies = ((0x0101, open_body), (0x0701, list_body), (0x0201, close_body))
    payload = b"".join(
        _message((transaction + i).to_bytes(4, "big"), tag, body)
        for i, (tag, body) in enumerate(bodies)
    )
    payload = payload.replace(ESCAPE, ESCAPE + ESCAPE)
    fill = (-len(payload)) % 4
    head = START + payload + b"\x00" * fill + ESCAPE + bytes([0x1A, fill])
    return head + crc16_x25(head).to_bytes(2, "big")


def _long_list(count: int) -> bytes:
    """TL of a list of 15..255 items (list lengths count items, not bytes)."""
    return bytes([0xF0 | (count >> 4), count & 0x0F])
