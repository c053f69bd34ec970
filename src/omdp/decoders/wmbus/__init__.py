"""Wireless M-Bus (EN 13757-4) and OMS codec: link layer, ELL, AFL, TPL, AES, records, drivers.

Pure functions over bytes; no I/O. :func:`decode` reads one telegram (with or without its
link-layer CRCs) into a :class:`Telegram`; every failure is a :class:`WMBusDecodeError` that
says why (:class:`WMBusCrcError`, :class:`WMBusTruncatedError`, :class:`WMBusKeyError`).
"""

from omdp.decoders.wmbus.compact import FormatStore
from omdp.decoders.wmbus.errors import (
    WMBusCrcError,
    WMBusDecodeError,
    WMBusKeyError,
    WMBusTruncatedError,
)
from omdp.decoders.wmbus.link import LinkHeader, add_crcs, strip_crcs
from omdp.decoders.wmbus.model import Telegram
from omdp.decoders.wmbus.security import parse_key
from omdp.decoders.wmbus.telegram import decode

__all__ = [
    "FormatStore",
    "LinkHeader",
    "Telegram",
    "WMBusCrcError",
    "WMBusDecodeError",
    "WMBusKeyError",
    "WMBusTruncatedError",
    "add_crcs",
    "decode",
    "parse_key",
    "strip_crcs",
]
