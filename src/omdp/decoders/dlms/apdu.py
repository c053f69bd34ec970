"""The pushed APDU: Data-Notification (plain or inside a ciphering APDU) -> :class:`DlmsPush`.

Data-Notification (Green Book 9.3)::

    0F  <long-invoke-id-and-priority, 4 bytes>  <date-time>  <notification-body: one Data>

The date-time is an octet-string: ``00`` (none) or ``0C`` + 12 bytes; meters also send it
tagged (``09 0C`` + 12 bytes, Kaifa) or behind a presence flag (``01``), and we read all three.
A ciphered push (``DB``/``DC``) is decrypted first; its plaintext must be a Data-Notification
(or, on Luxembourg's P1 ports, a DSMR text telegram), otherwise the key was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Final

from omdp.decoders.dlms.axdr import Reader, parse_date_time, read_data
from omdp.decoders.dlms.cosem import METER_ID_CODES, NO_HINTS, DlmsHints, to_values, walk
from omdp.decoders.dlms.errors import DlmsError, WrongKeyError
from omdp.decoders.dlms.security import (
    CIPHERED_TAGS,
    DlmsKeys,
    FrameCounterGuard,
    decrypt,
    parse_ciphered,
)
from omdp.decoders.dsmr import decode_telegram
from omdp.decoders.obis_values import Telegram
from omdp.errors import DecodeError

DATA_NOTIFICATION: Final = 0x0F
_DSMR_START: Final = ord("/")


@dataclass(frozen=True, slots=True)
class DlmsPush:
    """One decoded push.

    Attributes:
        telegram: meter id, the meter's time, every OBIS value.
        system_title: the sender's system title (ciphered pushes), else None.
        frame_counter: the invocation counter (ciphered pushes), else None.
        security: ``none``, ``encrypted``, ``authenticated`` or ``authenticated+encrypted``;
            ``+unverified`` is appended when the push has a tag but no authentication key was
            given to check it.
        invoke_id: the long invoke id of the Data-Notification.
        unlabelled: positional values no profile layout explained, in push order.
    """

    telegram: Telegram
    system_title: bytes | None = None
    frame_counter: int | None = None
    security: str = "none"
    invoke_id: int | None = None
    unlabelled: tuple[Any, ...] = field(default_factory=tuple)


def _notification_time(r: Reader, tz: tzinfo) -> datetime | None:
    first = r.byte()
    if first == 0x00:
        return None
    tagged = first in (0x09, 0x01) and r.remaining > 0 and r.buf[r.pos] == 0x0C
    if tagged:  # a tagged octet-string (09 0C), or a presence flag and the length (01 0C)
        r.byte()
    elif first not in (0x0C, 0x01):
        msg = f"Data-Notification date-time starts with 0x{first:02X} (expected 00, 0C or 09 0C)"
        raise DlmsError(msg, offset=r.pos - 1)
    return parse_date_time(bytes(r.take(12))).to_datetime(tz)


def _meter_id(telegram_values: list[Any]) -> str | None:
    texts = {v.obis: v.value for v in reversed(telegram_values) if isinstance(v.value, str)}
    for code in METER_ID_CODES:
        if code in texts:
            return str(texts[code])
    return None


def decode_notification(
    apdu: bytes, *, hints: DlmsHints = NO_HINTS, tz: tzinfo = UTC
) -> tuple[Telegram, int, tuple[Any, ...]]:
    """Decode a plain Data-Notification: the telegram, invoke id and unexplained values.

    Raises:
        DlmsError: not a Data-Notification, or a malformed one.
        DlmsTruncatedError: shorter than its contents say.
    """
    if not apdu or apdu[0] != DATA_NOTIFICATION:
        first = f"0x{apdu[0]:02X}" if apdu else "nothing"
        msg = f"APDU starts with {first}; a push is a Data-Notification (0x0F) or ciphered (DB)"
        raise DlmsError(msg, offset=0)
    r = Reader(apdu, 1)
    invoke_id = int.from_bytes(r.take(4), "big")
    moment = _notification_time(r, tz)
    body = read_data(r)
    labelled, positional = walk(body)
    values, rest = to_values(labelled, positional, hints, tz)
    clock = next((v.timestamp for v in values if v.timestamp is not None), None)
    telegram = Telegram("dlms", _meter_id(values), clock or moment, tuple(values))
    return telegram, invoke_id, tuple(rest)


def _security_text(sc: int, verified: bool) -> str:
    parts = [name for bit, name in ((0x10, "authenticated"), (0x20, "encrypted")) if sc & bit]
    text = "+".join(parts) or "none"
    if sc & 0x10 and not verified:
        text += "+unverified"
    return text


def decode_apdu(
    apdu: bytes,
    *,
    keys: DlmsKeys | None = None,
    hints: DlmsHints = NO_HINTS,
    tz: tzinfo = UTC,
    guard: FrameCounterGuard | None = None,
) -> DlmsPush:
    """Decode a pushed APDU, deciphering it first when it is ciphered.

    Args:
        apdu: the APDU (LLC header and transport already removed).
        keys: the meter's keys (needed for encrypted pushes).
        hints: the meter profile's scalers and list layouts.
        tz: zone of the meter's clock where a date-time carries no deviation.
        guard: frame counters seen so far; a push whose counter does not increase is refused.

    Raises:
        MissingKeyError, WrongKeyError, ReplayError: the security checks failed.
        DlmsError: the APDU is malformed (the message says where and how).
    """
    if not apdu or apdu[0] not in CIPHERED_TAGS:
        plain_telegram, plain_id, plain_rest = decode_notification(apdu, hints=hints, tz=tz)
        return DlmsPush(plain_telegram, invoke_id=plain_id, unlabelled=plain_rest)
    ciphered = parse_ciphered(apdu)
    if guard is not None:
        guard.check(ciphered.system_title, ciphered.frame_counter)
    plain, verified = decrypt(ciphered, keys)
    security = _security_text(ciphered.security_control, verified)
    wrong_key = (
        f"the push from system title {ciphered.system_title.hex()} (frame counter "
        f"{ciphered.frame_counter}) does not decrypt to a valid APDU with this key"
    )
    invoke_id: int | None
    try:
        if plain[:1] == bytes((_DSMR_START,)):
            telegram, invoke_id, rest = decode_telegram(plain), None, ()
        else:
            telegram, invoke_id, rest = decode_notification(plain, hints=hints, tz=tz)
    except DecodeError as exc:
        if ciphered.encrypted and not verified:  # no tag checked: garbage means a wrong key
            msg = f"{wrong_key} (wrong key; the plaintext fails with: {exc})"
            raise WrongKeyError(msg) from None
        raise
    if guard is not None:
        guard.accept(ciphered.system_title, ciphered.frame_counter)
    if telegram.meter_id is None:
        telegram = Telegram(
            telegram.protocol, ciphered.system_title.hex(), telegram.timestamp, telegram.values
        )
    return DlmsPush(
        telegram,
        system_title=ciphered.system_title,
        frame_counter=ciphered.frame_counter,
        security=security,
        invoke_id=invoke_id,
        unlabelled=rest,
    )
