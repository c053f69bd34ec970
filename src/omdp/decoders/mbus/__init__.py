"""Wired M-Bus (EN 13757-2/-3) codec: decode, encode, split streams, render JSON.

Pure functions over bytes; no I/O. Every decoding failure raises :class:`MBusDecodeError`
(a :class:`omdp.errors.DecodeError`) carrying the byte offset and the reason.
"""

from omdp.decoders.mbus.application import Frame, decode
from omdp.decoders.mbus.datatypes import DateTimeValue
from omdp.decoders.mbus.errors import (
    MBusChecksumError,
    MBusDecodeError,
    MBusEncodeError,
    MBusSlaveError,
)
from omdp.decoders.mbus.header import Header, manufacturer_code, manufacturer_letters
from omdp.decoders.mbus.link import FrameSplitter, LinkFrame, parse_link, split_frames
from omdp.decoders.mbus.records import DataRecord

__all__ = [
    "DataRecord",
    "DateTimeValue",
    "Frame",
    "FrameSplitter",
    "Header",
    "LinkFrame",
    "MBusChecksumError",
    "MBusDecodeError",
    "MBusEncodeError",
    "MBusSlaveError",
    "decode",
    "manufacturer_code",
    "manufacturer_letters",
    "parse_link",
    "split_frames",
]
