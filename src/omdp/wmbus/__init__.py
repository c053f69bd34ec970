"""Wireless M-Bus receivers: the serial protocols of USB dongles and rtl-wmbus's output."""

from omdp.wmbus.dongles import (
    DONGLES,
    LINK_MODES,
    Amb8465Decoder,
    DongleDecoder,
    Im871aDecoder,
    RadioFrame,
    Reply,
    RtlWmbusDecoder,
    amb8465_command,
    amb8465_frame,
    im871a_command,
    im871a_frame,
    make_decoder,
    rtlwmbus_line,
)

__all__ = [
    "DONGLES",
    "LINK_MODES",
    "Amb8465Decoder",
    "DongleDecoder",
    "Im871aDecoder",
    "RadioFrame",
    "Reply",
    "RtlWmbusDecoder",
    "amb8465_command",
    "amb8465_frame",
    "im871a_command",
    "im871a_frame",
    "make_decoder",
    "rtlwmbus_line",
]
