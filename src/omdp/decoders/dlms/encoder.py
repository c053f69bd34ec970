"""Build pushes as meters send them (for simulators, tests and benchmarks).

A Data-Notification of OBIS-labelled values (``structure {obis, value, {scaler, unit}}``) or of
bare values in a profile's list order, optionally ciphered (:func:`~.security.encrypt`), then
framed as HDLC (with the LLC header) or as wired M-Bus DLMS transport segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from omdp.decoders.dlms.axdr import (
    DOUBLE_LONG,
    DOUBLE_LONG_UNSIGNED,
    ENUM,
    INTEGER,
    Structure,
    Typed,
    encode_data,
    encode_date_time,
)
from omdp.decoders.dlms.hdlc import encode_hdlc
from omdp.decoders.mbus.link import KIND_LONG, LinkFrame, encode_link
from omdp.domain.obis import ObisCode

#: our unit spellings -> DLMS unit codes
UNIT_CODES: Final = {"W": 27, "VA": 28, "var": 29, "Wh": 30, "VAh": 31, "varh": 32, "A": 33,
                     "V": 35, "Hz": 44}  # fmt: skip
_MBUS_SEGMENT: Final = 250 - 5  # L counts C, A, CI, STSAP, DTSAP and the segment


@dataclass(frozen=True, slots=True)
class PushValue:
    """One value to push: raw integer (before scaling) with scaler and unit, or a text/time."""

    obis: ObisCode
    value: int | str | bytes | datetime
    scaler: int | None = None
    unit: str | None = None


def _data(value: int | str | bytes | datetime) -> Any:
    if isinstance(value, int):
        return Typed(DOUBLE_LONG if value < 0 else DOUBLE_LONG_UNSIGNED, value)
    if isinstance(value, str):
        return value.encode()  # octet-string, as meters send identifiers
    return value


def notification(
    values: Sequence[PushValue],
    *,
    moment: datetime | None = None,
    invoke_id: int = 0x40000000,
    labelled: bool = True,
) -> bytes:
    """A Data-Notification APDU carrying ``values``.

    Args:
        values: what to push.
        moment: the notification's date-time (None: empty).
        invoke_id: long invoke id and priority.
        labelled: OBIS code and scaler-unit with every value (else bare values in order).
    """
    items: list[Any] = []
    for v in values:
        if not labelled:
            items.append(_data(v.value))
            continue
        element = [v.obis.to_bytes(), _data(v.value)]
        if v.scaler is not None:
            unit = UNIT_CODES.get(v.unit or "", 255)
            element.append(Structure([Typed(INTEGER, v.scaler), Typed(ENUM, unit)]))
        items.append(Structure(element))
    when = b"\x00" if moment is None else b"\x0c" + encode_date_time(moment)
    return b"\x0f" + invoke_id.to_bytes(4, "big") + when + encode_data(Structure(items))


def hdlc_frames(apdu: bytes, *, max_information: int = 2000) -> bytes:
    """The APDU in HDLC frames (LLC header first; segmented when longer than one frame)."""
    payload = b"\xe6\xe7\x00" + apdu
    chunks = [payload[i : i + max_information] for i in range(0, len(payload), max_information)]
    return b"".join(
        encode_hdlc(chunk, segmented=i < len(chunks) - 1) for i, chunk in enumerate(chunks)
    )


def mbus_segments(apdu: bytes, *, stsap: int = 0x01, dtsap: int = 0x67) -> bytes:
    """The APDU in wired M-Bus long frames, DLMS transport CI 0x0n / 0x1n (last)."""
    chunks = [apdu[i : i + _MBUS_SEGMENT] for i in range(0, len(apdu), _MBUS_SEGMENT)]
    if len(chunks) > 16:
        msg = f"an APDU of {len(apdu)} bytes needs more than 16 M-Bus segments"
        raise ValueError(msg)
    frames = []
    for seq, chunk in enumerate(chunks):
        ci = seq | (0x10 if seq == len(chunks) - 1 else 0)
        user = bytes((stsap, dtsap)) + chunk
        frames.append(encode_link(LinkFrame(KIND_LONG, 0x53, 0xFF, ci, user)))
    return b"".join(frames)
