"""Wired M-Bus long frames given where a radio telegram is expected.

Receivers, gateways and test captures often mix the two: a wired RSP_UD
``68 L L 68 C A 72 [id(4) M(2) ver med acc st cw(2)] records CS 16`` carries the same long
transport header and the same records as a radio telegram with CI 0x72. :func:`as_wireless`
turns such a frame into the radio telegram it is equivalent to (``L C M(2) A(6) 72 ...``: the
link layer's M- and A-fields are the long header's), so that one decoder, with its 2018 VIB
tables and its drivers, reads both. Only a frame whose start, length, stop byte and checksum
all fit is taken; anything else is left to the radio decoder.
"""

from __future__ import annotations

from typing import Final

from omdp.decoders.mbus import link as wired_link
from omdp.decoders.mbus.errors import MBusChecksumError, MBusDecodeError
from omdp.decoders.wmbus.errors import WMBusCrcError, WMBusDecodeError
from omdp.decoders.wmbus.layers import HEADER_LONG, TPL_CI

FORMAT_WIRED: Final = "wired"  # what the JSON's link.frameFormat says for such a frame
_LONG_HEADER_LEN: Final = 12


def looks_wired(data: bytes) -> bool:
    """Return whether ``data`` has the shape of one wired long frame (start, lengths, stop)."""
    return (
        len(data) >= 9
        and data[0] == wired_link.LONG_START
        and data[3] == wired_link.LONG_START
        and data[1] == data[2]
        and len(data) == data[1] + 6
        and data[-1] == wired_link.STOP
    )


def as_wireless(data: bytes) -> bytes | None:
    """Return the radio telegram a wired long frame is equivalent to, or ``None``.

    ``None`` when ``data`` does not have the shape of a wired long frame.

    Raises:
        WMBusCrcError: it has, but its checksum does not match.
        WMBusDecodeError: it has, but it carries no long transport header (no id to give it).
    """
    if not looks_wired(data):
        return None
    try:
        frame = wired_link.parse_link(data)
    except MBusChecksumError as exc:
        msg = f"wired M-Bus frame: {exc.reason}"
        raise WMBusCrcError(msg, offset=exc.offset) from None
    except MBusDecodeError as exc:
        msg = f"wired M-Bus frame: {exc.reason}"
        raise WMBusDecodeError(msg, offset=exc.offset) from None
    ci = frame.ci if frame.ci is not None else -1
    kind = TPL_CI.get(ci, ("", ""))[0]
    body = frame.user_data
    if kind != HEADER_LONG or len(body) < _LONG_HEADER_LEN:
        msg = (
            f"wired M-Bus frame with CI 0x{ci & 0xFF:02X}: only frames with a long transport"
            " header (CI 0x72) are read here; use omdp mbus decode"
        )
        raise WMBusDecodeError(msg, offset=6)
    ident, mfct, version, medium = body[0:4], body[4:6], body[6], body[7]
    rest = bytes((ci,)) + body
    # the L-field shown is the wired one (C, A, CI and the data): it is never checked again
    return bytes((data[1], frame.control)) + mfct + ident + bytes((version, medium)) + rest
