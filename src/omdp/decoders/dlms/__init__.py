"""DLMS/COSEM pushes of customer interfaces: HDLC or wired M-Bus, plain or AES-128-GCM ciphered.

Pure codec, bytes in, :class:`DlmsPush` out; see :mod:`.stream` for the link layers,
:mod:`.security` for suites 0 and 1, :mod:`.apdu` and :mod:`.cosem` for the contents.
"""

from omdp.decoders.dlms.apdu import DlmsPush, decode_apdu, decode_notification
from omdp.decoders.dlms.axdr import Array, Structure, Typed, decode_data, encode_data
from omdp.decoders.dlms.cosem import DlmsHints, ListLayout, Scaling
from omdp.decoders.dlms.errors import (
    DlmsChecksumError,
    DlmsError,
    DlmsSecurityError,
    DlmsTruncatedError,
    MissingKeyError,
    ReplayError,
    WrongKeyError,
)
from omdp.decoders.dlms.hdlc import encode_hdlc, parse_hdlc
from omdp.decoders.dlms.security import DlmsKeys, FrameCounterGuard, encrypt
from omdp.decoders.dlms.stream import DlmsStreamDecoder, StreamResult, decode_capture

__all__ = [
    "Array",
    "DlmsChecksumError",
    "DlmsError",
    "DlmsHints",
    "DlmsKeys",
    "DlmsPush",
    "DlmsSecurityError",
    "DlmsStreamDecoder",
    "DlmsTruncatedError",
    "FrameCounterGuard",
    "ListLayout",
    "MissingKeyError",
    "ReplayError",
    "Scaling",
    "StreamResult",
    "Structure",
    "Typed",
    "WrongKeyError",
    "decode_apdu",
    "decode_capture",
    "decode_data",
    "decode_notification",
    "encode_data",
    "encode_hdlc",
    "encrypt",
    "parse_hdlc",
]
