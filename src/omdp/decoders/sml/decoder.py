"""Decode SML 1.04 transport files (eHZ and other German meters) over ``smllib``.

Wire layout of one transport file::

    1b1b1b1b 01010101                   start: escape + version 1
    76 ... 63 xxxx 00                   messages: lists of 6, the 5th the message's CRC16/X.25
    ...                                 (OpenResponse, GetListResponse, CloseResponse)
    00..                                0-3 fill bytes to a multiple of 4
    1b1b1b1b 1a nn xxxx                 end: escape, 0x1a, fill count, CRC16/X.25 of the whole file

``smllib.SmlStreamReader`` finds files and checks the file CRC; ``smllib`` builds the messages. We
add what it leaves out, and work around what it gets wrong on the corpus:

* It checks no per-message CRC; we do (on the unescaped message bytes).
* ``SmlStreamReader.add`` keeps only the last 50 KiB, so a serial dump handed over in one piece
  loses everything before that (libsml-testing dumps fed whole to it would lose nothing yet, but a
  day of capture would); we feed it in 4 KiB pieces and drain after each.
* A file cut short and followed by the next file is read by it as one long file whose CRC fails;
  we look for a second start sequence before the end and drop the cut file as truncated.
* It does not check the fill count (``1a nn``); a wrong one makes it slice the payload wrongly.
  We check that the ``nn`` bytes before the end sequence are zeros. (The spec allows 0-3, but
  smllib's Frame1 test capture has 4, so we do not insist on that.)
* ``SmlListEntry.get_value`` rounds through float; we scale with ``Decimal`` (exact).

Values: ``value * 10**scaler``, Decimal when the scaler is negative, else int; octet strings become
text when they are printable ASCII (manufacturer ``EMH``), else hex. The meter id is the value of
1-0:0.0.9 (hex, as the meter sends it), else the GetListResponse server id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from smllib.builder._builder import SmlObjBuilder
from smllib.builder.default_context import create_context
from smllib.errors import CrcError, InvalidBufferPos, SmlLibException
from smllib.reader import SmlStreamReader
from smllib.sml.list_entry import SmlListEntry
from smllib.sml.message import SmlMessage
from smllib.sml.response_get_list import SmlGetListResponse
from smllib.sml.response_open_close import SmlOpenResponse
from smllib.sml_frame import SmlFrame

from omdp.decoders.obis_values import ObisValue, Telegram, Value
from omdp.decoders.sml.crc import crc16_x25
from omdp.decoders.sml.units import unit_name
from omdp.domain.obis import ObisCode
from omdp.errors import ChecksumError, DecodeError

log = logging.getLogger(__name__)

START: Final = b"\x1b\x1b\x1b\x1b\x01\x01\x01\x01"
ESCAPE: Final = b"\x1b\x1b\x1b\x1b"
_END: Final = ESCAPE + b"\x1a"
_CHUNK: Final = 4096
_METER_ID: Final = ObisCode.parse("1-0:0.0.9")
_LIBRARY_ERRORS: Final = (
    SmlLibException,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    AttributeError,
    RecursionError,
    OverflowError,
)


class _ListEntryBuilder(SmlObjBuilder[SmlListEntry]):
    """smllib's builder minus two faults of its ``SmlListEntryBuilder``.

    It rejects entries without a value ("value is required!"), which drops every file of
    EMH_eHZ-IW8E2A5L0EK2P_with_error; and it turns octet strings into text with
    ``errors='ignore'``, silently dropping bytes that are not UTF-8. We keep the hex and decode
    strictly in ``_octets``.
    """

    BUILDS = SmlListEntry


def _build_context() -> Any:
    context = create_context()
    context[SmlListEntry] = _ListEntryBuilder()
    return context


def _number(raw: int, scaler: int | None) -> Value:
    if not scaler:
        return raw
    if scaler > 0:
        return int(raw * 10**scaler)
    return Decimal(raw).scaleb(scaler)


def _octets(hex_text: str) -> str:
    raw = bytes.fromhex(hex_text)
    if raw and all(0x20 <= b < 0x7F for b in raw):
        return raw.decode("ascii")
    return hex_text


def _entry(entry: Any, default_time: datetime | None) -> ObisValue | None:
    code = ObisCode.parse(str(entry.obis))
    raw = entry.value
    stamp = entry.val_time if isinstance(entry.val_time, datetime) else default_time
    value: Value
    if raw is None:
        return None
    if isinstance(raw, datetime):
        value, stamp = raw.isoformat(), raw
    elif isinstance(raw, bool):
        value = int(raw)
    elif isinstance(raw, int):
        value = _number(raw, entry.scaler)
    elif isinstance(raw, str):
        value = raw if code == _METER_ID else _octets(raw)
    else:
        value = str(raw)
    return ObisValue(code, value, unit_name(entry.unit), stamp)


class _BoundedFrame(SmlFrame):
    """smllib's frame, refusing a list longer than the bytes left.

    smllib allocates a list of the declared length before reading its elements, and a TLV
    length may have any number of 4-bit continuation nibbles: six garbled bytes declare
    billions of elements and exhaust memory. Every element takes at least one byte, so a
    list that declares more elements than bytes remain is garbled.
    """

    def get_value(self, pos: int | None = None) -> Any:
        at = self.next_pos if pos is None else pos
        if at < self.buf_len and self.buffer[at] & 0x70 == 0x70:
            size, more, cursor = self.buffer[at] & 0x0F, self.buffer[at] & 0x80, at + 1
            while more and cursor < self.buf_len and size <= self.buf_len:
                size = size << 4 | self.buffer[cursor] & 0x0F
                more = self.buffer[cursor] & 0x80
                cursor += 1
            if size > self.buf_len - cursor:
                msg = f"SML list at body byte {at} declares {size} elements, more than remain"
                raise InvalidBufferPos(msg)
        return super().get_value(pos)


def _messages(frame: SmlFrame, offset: int, *, message_crc: bool) -> list[SmlMessage]:
    """Parse every message of an unescaped file body, checking each message's CRC."""
    out: list[SmlMessage] = []
    frame.next_pos = 0
    while frame.next_pos < frame.buf_len:
        pos = frame.next_pos
        if frame.buffer[pos] != 0x76:
            msg = f"no SML message (list of 6, 0x76) at body byte {pos}: 0x{frame.buffer[pos]:02x}"
            raise DecodeError(msg, offset=offset)
        snippet = frame.get_value()
        frame._parse_msg(snippet)  # the library's own message walker; it keeps positions
        fields: list[Any] = snippet.get_value(list)
        if len(fields) != 6:
            msg = f"SML message at body byte {pos} has {len(fields)} fields, not 6"
            raise DecodeError(msg, offset=offset)
        crc_field = fields[4]
        actual = crc16_x25(frame.buffer[pos : crc_field.pos])
        if message_crc and crc_field.value != actual:
            msg = (
                f"message CRC mismatch at body byte {pos}: message says "
                f"{crc_field.value!r:.6}, contents give {actual:04X}"
            )
            raise ChecksumError(msg, offset=offset)
        try:
            out.append(frame.build_ctx[SmlMessage].build(snippet, frame.build_ctx))
        except SmlLibException as exc:
            log.debug("SML message at body byte %d skipped: %r", pos, exc)
    return out


def _telegram(frame: SmlFrame, offset: int, *, message_crc: bool) -> Telegram:
    try:
        messages = _messages(frame, offset, message_crc=message_crc)
        server_id: str | None = None
        stamp: datetime | None = None
        values: list[ObisValue] = []
        for message in messages:
            body = message.message_body
            if isinstance(body, SmlOpenResponse) and server_id is None:
                server_id = body.server_id
            if isinstance(body, SmlGetListResponse):
                server_id = body.server_id or server_id
                for moment in (body.act_sensor_time, body.act_gateway_time):
                    if isinstance(moment, datetime):
                        stamp = moment
                entries = (_entry(e, stamp) for e in body.val_list)
                values.extend(v for v in entries if v is not None)
    except DecodeError:
        raise
    except _LIBRARY_ERRORS as exc:
        msg = f"malformed SML file: {exc!r}"
        raise DecodeError(msg, offset=offset) from exc
    if not any(isinstance(m.message_body, SmlGetListResponse) for m in messages):
        msg = "SML file holds no GetListResponse"
        raise DecodeError(msg, offset=offset)
    meter = next((str(v.value) for v in values if v.obis == _METER_ID), server_id)
    return Telegram(protocol="sml", meter_id=meter, timestamp=stamp, values=tuple(values))


@dataclass
class SmlStreamDecoder:
    """Find, check and decode SML files in a byte stream (a serial line or a dump).

    In ``strict`` mode the first problem raises; otherwise bad files are skipped and counted.

    Attributes:
        strict: raise instead of skipping.
        message_crc: check each message's CRC too (the file CRC is always checked).
        files: files decoded.
        skipped_bytes: bytes outside any file (noise, a partial file at the start of a dump).
        crc_errors: files dropped for a bad file or message CRC.
        bad_files: files dropped for malformed contents.
        truncated: files cut short (by a new start sequence, or by the end of the input).
    """

    strict: bool = False
    message_crc: bool = True
    files: int = 0
    skipped_bytes: int = 0
    crc_errors: int = 0
    bad_files: int = 0
    truncated: int = 0
    _reader: SmlStreamReader = field(
        default_factory=lambda: SmlStreamReader(build_ctx=_build_context()), repr=False
    )
    _consumed: int = 0

    def feed(self, data: bytes) -> list[Telegram]:
        """Add bytes; return the telegrams of every file they complete.

        Args:
            data: the next bytes of the stream.

        Returns:
            Decoded files, oldest first.

        Raises:
            ChecksumError: (strict) a file or message CRC does not match.
            DecodeError: (strict) noise, a truncated or a malformed file.
        """
        out: list[Telegram] = []
        for pos in range(0, len(data), _CHUNK):
            self._reader.add(data[pos : pos + _CHUNK])
            out.extend(self._drain())
        return out

    def finish(self) -> None:
        """Declare the end of input: leftover bytes are a truncated file or noise.

        Raises:
            DecodeError: (strict) the input ends inside a file or in noise.
        """
        rest = self._reader.bytes
        self._reader.clear()
        if not rest:
            return
        if START in rest:
            self.truncated += 1
            self._problem(f"truncated SML file: input ends {len(rest)} bytes after its start")
        else:
            self.skipped_bytes += len(rest)
            self._problem(f"{len(rest)} bytes of noise at the end, no SML start sequence")

    def _problem(self, msg: str, exc: Exception | None = None) -> None:
        if self.strict:
            if isinstance(exc, ChecksumError):
                raise exc
            raise DecodeError(msg, offset=self._consumed) from exc
        log.warning("SML: %s", msg)

    def _skip_noise(self) -> bool:
        buf = self._reader.bytes
        start = buf.find(START)
        if start > 0:
            self.skipped_bytes += start
            self._consumed += start
            self._reader.bytes = buf[start:]
            self._problem(f"{start} bytes of noise before an SML start sequence")
            buf = self._reader.bytes
        if start < 0:
            return False
        end = buf.find(_END, 8)
        again = buf.find(START, 8)
        while again > 0 and buf[again - 4 : again] == ESCAPE:  # escaped data, not a start
            again = buf.find(START, again + 1)
        if again > 0 and (end < 0 or again < end):
            self.truncated += 1
            self._consumed += again
            self._reader.bytes = buf[again:]
            self._problem("truncated SML file: a new start sequence came before its end")
            return True
        return end >= 0

    def _drain(self) -> list[Telegram]:
        out: list[Telegram] = []
        while self._skip_noise():
            before = len(self._reader.bytes)
            try:
                frame = self._reader.get_frame()
            except CrcError as exc:
                self.crc_errors += 1
                self._consumed += before - len(self._reader.bytes)
                msg = (
                    f"file CRC mismatch: file says {exc.crc_msg:04X}, "
                    f"contents give {exc.crc_calc:04X}"
                )
                self._problem(msg, ChecksumError(msg, offset=self._consumed))
                continue
            if frame is None:
                return out
            offset = self._consumed
            self._consumed += before - len(self._reader.bytes)
            telegram = self._decode(frame, offset)
            if telegram is not None:
                out.append(telegram)
        return out

    def _decode(self, frame: SmlFrame, offset: int) -> Telegram | None:
        whole = frame.msg_ctx or b""
        fill = whole[-3] if len(whole) >= 16 else -1
        if fill < 0 or fill > len(whole) - 16 or any(whole[len(whole) - 8 - fill : -8]):
            self.bad_files += 1
            self._problem(f"SML end sequence has fill count {fill}, not that many zero bytes")
            return None
        try:
            bounded = _BoundedFrame(frame.bytes, frame.build_ctx, frame.msg_ctx)
            telegram = _telegram(bounded, offset, message_crc=self.message_crc)
        except ChecksumError as exc:
            self.crc_errors += 1
            self._problem(str(exc), exc)
            return None
        except DecodeError as exc:
            self.bad_files += 1
            self._problem(str(exc), exc)
            return None
        self.files += 1
        return telegram


def decode_sml(data: bytes, *, stream: bool = False, message_crc: bool = True) -> list[Telegram]:
    """Decode every SML file in ``data``.

    Args:
        data: binary SML: one file, or a serial dump of several.
        stream: skip noise, truncated and bad files (as a serial reader must) instead of raising;
            use :class:`SmlStreamDecoder` directly to see the counts.
        message_crc: check each message's CRC as well as the file's.

    Returns:
        One telegram per file, in order.

    Raises:
        ChecksumError: (not ``stream``) a file or message CRC does not match.
        DecodeError: (not ``stream``) noise, a truncated or malformed file, or no file at all.
    """
    decoder = SmlStreamDecoder(strict=not stream, message_crc=message_crc)
    telegrams = decoder.feed(data)
    decoder.finish()
    if not telegrams and not stream:
        msg = "no SML file found (start sequence 1b1b1b1b01010101)"
        raise DecodeError(msg, offset=0)
    return telegrams
