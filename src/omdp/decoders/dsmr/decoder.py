"""Decode one DSMR P1 telegram into a :class:`~omdp.decoders.obis_values.Telegram`.

A telegram is ASCII text, CRLF line ends::

    /ISk5\\2MT382-1000              identification line
                                    (empty line)
    1-3:0.2.8(50)                   version
    0-0:1.0.0(170102192002W)        time: YYMMDDhhmmss + S (summer) / W (winter)
    1-0:1.8.1(000004.426*kWh)       one value per line, unit after "*"
    0-1:24.2.1(170102161005W)(00000.107*m3)   M-Bus sub-meter on channel 1, with capture time
    !6EEE                           CRC16/ARC over "/" .. "!" (DSMR 4 and later)

Every well-formed OBIS line is decoded, whether or not the chosen specification lists it (a
Luxembourg meter's reactive energy, a Swedish meter's per-phase reactive power, a new register):
a line is typed by the first line rule that reads it, the chosen specification's first, then
those of its ``fallback`` specifications (:mod:`.specs`), and a line no specification lists is
read by its shape (:mod:`.generic`): value and unit, a capture time and a value (M-Bus channel
lines such as ``0-n:24.2.1``), profile generic buffers (``1-0:99.97.0``), maximum-demand
histories, DSMR 2.2's two-line gas reading. The line regexes and value parsers are
``dsmr_parser``'s; the loop over the lines is ours so that every value keeps its full OBIS code
and position. Where the library falls short we work around it:

* ``dsmr_parser.value_types.timestamp`` returns UTC. DSMR meters write wall-clock time with an
  S/W flag; we convert back to the spec's zone (``Europe/Amsterdam``, ``Europe/Brussels``...), so
  that ``170102192002W`` comes out as ``2017-01-02T19:20:02+01:00``, the meter's own offset.
* ``ProfileGenericParser`` (the power-failure log 99.97.0) appends to its own parser list on every
  call (read from its source; not triggered by a corpus telegram), so one shared instance grows
  for ever on a serial line and could mis-type a later buffer of another type. We parse those
  lines with a fresh parser each time.
* ``TelegramParser.validate_checksum`` raises a bare ``ParseError`` and, for telegrams with bytes
  after the end line (TELEGRAM_ESY5Q3DB1024_V304 ends in a serial number and 0xFF fill), reads
  the whole buffer. We cut the telegram at its end line and check the CRC ourselves, reporting
  expected and actual values.
* Library parse failures of a single line are logged at ERROR and skipped by the library; we
  log them at WARNING with the line's offset (or raise :class:`DecodeError` with ``strict=True``).

Values stay exact (``Decimal``); empty values (``0-0:96.13.0()``) are left out.
"""

from __future__ import annotations

import functools
import logging
import re
from datetime import datetime
from decimal import InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo

from dsmr_parser.exceptions import ParseError
from dsmr_parser.objects import MBusObject, MBusObjectPeak, ProfileGenericObject
from dsmr_parser.parsers import ProfileGenericParser
from dsmr_parser.profile_generic_specifications import PG_HEAD_PARSERS

from omdp.decoders.dsmr.crc import crc16_arc
from omdp.decoders.dsmr.generic import (
    channel_of,
    local_time,
    make_value,
    object_lines,
    read_by_shape,
)
from omdp.decoders.dsmr.specs import SPECS, DsmrSpec, ObjectRule, detect_spec, spec_by_name
from omdp.decoders.obis_values import ObisValue, Telegram
from omdp.domain.obis import ObisCode
from omdp.errors import ChecksumError, DecodeError

log = logging.getLogger(__name__)

_END_RE: Final = re.compile(r"^!([0-9A-Fa-f]{4})?[ \t]*\r?\n", re.MULTILINE)
_END_NO_NEWLINE_RE: Final = re.compile(r"^!([0-9A-Fa-f]{4})?[ \t]*\Z", re.MULTILINE)
#: meter identifiers, in order of preference
_METER_ID_CODES: Final = tuple(
    ObisCode.parse(c)
    for c in ("0-0:96.1.1", "0-0:42.0.0", "0-0:96.1.0", "0-0:96.1.255", "1-0:0.0.0")
)
_TIMESTAMP_CODE: Final = ObisCode.parse("0-0:1.0.0")


def _text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    # Latin-1 maps every byte to one character, so offsets stay byte offsets.
    return data.decode("latin-1")


def _frame(text: str) -> tuple[int, str, str | None]:
    """Cut the telegram out of ``text``: (start offset, CRLF-normalised text, CRC hex or None)."""
    start = text.find("/")
    if start < 0:
        msg = "no telegram start '/' found"
        raise DecodeError(msg, offset=0)
    end = _END_RE.search(text, start) or _END_NO_NEWLINE_RE.search(text, start)
    if end is None:
        msg = f"truncated telegram: no end line '!' after {len(text) - start} characters"
        raise DecodeError(msg, offset=len(text))
    body = text[start : end.start() + 1]
    if "\r\n" not in body:  # a file saved with bare LF: the meter sent CRLF
        body = body.replace("\n", "\r\n")
    return start, body, end.group(1)


def _check_crc(body: str, crc_hex: str | None, start: int) -> None:
    if crc_hex is None:
        msg = "truncated telegram: the end line has no CRC, which this spec requires"
        raise DecodeError(msg, offset=start + len(body))
    try:
        raw = body.encode("latin-1")
    except UnicodeEncodeError as exc:
        msg = "telegram holds characters outside Latin-1; cannot check its CRC"
        raise DecodeError(msg, offset=start) from exc
    actual = crc16_arc(raw)
    expected = int(crc_hex, 16)
    if actual != expected:
        msg = f"CRC mismatch: telegram says {expected:04X}, contents give {actual:04X}"
        raise ChecksumError(msg, offset=start + len(body))


def _parse_line(parser: Any, line: str) -> Any:
    if isinstance(parser, ProfileGenericParser):
        parser = ProfileGenericParser(
            parser.buffer_types, PG_HEAD_PARSERS, parser.parsers_for_unidentified
        )
    return parser.parse(line)


_local = local_time
_value = make_value


def _values(code: ObisCode, obj: Any, tz: ZoneInfo) -> list[ObisValue | None]:
    channel = channel_of(code)
    if isinstance(obj, list):  # MaxDemandParser: one peak per month
        peaks: list[MBusObjectPeak] = obj
        return [_value(code, p.value, p.unit, _local(p.occurred, tz), channel) for p in peaks]
    if isinstance(obj, ProfileGenericObject):
        return [
            _value(code, b.value, "s" if b.unit is None else b.unit, _local(b.datetime, tz), None)
            for b in obj.buffer
        ]
    if isinstance(obj, MBusObject):
        return [_value(code, obj.value, obj.unit, _local(obj.datetime, tz), channel)]
    out = []
    for item in obj.values:  # one value in the usual line, more in e.g. 1-1:31.4.0(..)(..)
        raw = item["value"]
        if isinstance(raw, datetime):
            raw = raw.astimezone(tz)
        out.append(_value(code, raw, item["unit"], None, channel))
    return out


_code = functools.lru_cache(maxsize=4096)(ObisCode.parse)
"""A meter sends the same codes every second: parse each once (a quarter of decoding time)."""


@functools.lru_cache(maxsize=4096)
def _rules_for(spec_name: str, code: str) -> tuple[ObjectRule, ...]:
    """The rules that may read a line of ``code``: the spec's own, then its fallbacks'."""
    spec = SPECS[spec_name]
    probe = f"{code}(0)\r\n(0)\r\n"
    ordered = [spec.rules, *(SPECS[name].rules for name in spec.fallback)]
    return tuple(rule for rules in ordered for rule in rules if rule.pattern.match(probe))


def _by_rule(body: str, pos: int, spec: DsmrSpec, code: ObisCode, text: str) -> list[Any] | None:
    """The values of the line at ``pos`` as the first rule that reads it types them."""
    for rule in _rules_for(spec.name, text):
        match = rule.pattern.match(body, pos)
        if match is None:
            continue
        try:
            return _values(code, _parse_line(rule.parser, match.group(0)), spec.tz)
        except (ParseError, ValueError, IndexError, InvalidOperation, TypeError, KeyError):
            continue  # a line of another shape than this rule's: the next rule, or by shape
    return None


def _decode_lines(body: str, spec: DsmrSpec, start: int, *, strict: bool) -> list[ObisValue]:
    out: list[ObisValue] = []
    for line in object_lines(body):
        try:
            code = _code(line.code)
            items = _by_rule(body, line.pos, spec, code, line.code)
            if items is None:
                items = read_by_shape(code, line.groups, spec.tz)
        except (DecodeError, ValueError, InvalidOperation) as exc:
            msg = f"cannot parse line {line.text.strip()!r}: {exc}"
            if strict:
                raise DecodeError(msg, offset=start + line.pos) from exc
            log.warning("DSMR line skipped at byte %d: %s", start + line.pos, msg)
            continue
        out += [v for v in items if v is not None]
    return out


def decode_telegram(data: bytes | str, *, spec: str = "auto", strict: bool = False) -> Telegram:
    """Decode one DSMR P1 telegram.

    Args:
        data: the telegram from ``/`` to its end line; noise before ``/`` and after the end line
            is ignored.
        spec: a spec name of :data:`omdp.decoders.dsmr.specs.SPECS` (``v2.2``, ``v3``, ``v4``,
            ``v5``, ``belgian``, ``luxembourg``, ``sweden``...) or ``auto`` to choose it from the
            header and version lines.
        strict: raise on a line the spec's parser rejects instead of skipping it.

    Returns:
        The telegram: meter id (0-0:96.1.1 or the spec's equivalent), the meter's time with its
        own UTC offset, and every non-empty value in telegram order. Values without a capture
        time of their own carry the telegram's time.

    Raises:
        ChecksumError: the CRC (DSMR 4 and later) does not match; both values are in the message.
        DecodeError: no start, no end line (truncated), or (``strict``) a malformed line.
        KeyError: ``spec`` names no known spec.
    """
    chosen = None if spec == "auto" else spec_by_name(spec)
    start, body, crc_hex = _frame(_text(data))
    if chosen is None:  # the end line's CRC is part of what tells the specifications apart
        chosen = detect_spec(body + (crc_hex or ""))
    if chosen.crc:
        _check_crc(body, crc_hex, start)
    values = _decode_lines(body, chosen, start, strict=strict)
    stamp_value = next((v for v in values if v.obis == _TIMESTAMP_CODE), None)
    stamp = stamp_value.timestamp if stamp_value is not None else None
    if stamp is not None:
        values = [
            v if v.timestamp is not None else ObisValue(v.obis, v.value, v.unit, stamp, v.channel)
            for v in values
        ]
    meter_id = next(
        (str(v.value) for code in _METER_ID_CODES for v in values if v.obis == code), None
    )
    return Telegram(protocol="dsmr", meter_id=meter_id, timestamp=stamp, values=tuple(values))
