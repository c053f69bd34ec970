"""Errors of the wireless M-Bus decoder; each says precisely what is wrong with a telegram."""

from __future__ import annotations

from omdp.decoders.mbus.errors import MBusChecksumError, MBusDecodeError


class WMBusDecodeError(MBusDecodeError):
    """A telegram cannot be decoded; ``offset`` indexes the telegram as given (from L)."""


class WMBusCrcError(MBusChecksumError, WMBusDecodeError):
    """A link-layer block CRC or the extended link layer's payload CRC does not match."""


class WMBusTruncatedError(WMBusDecodeError):
    """The telegram is shorter than its L-field or one of its headers says."""


class WMBusKeyError(WMBusDecodeError):
    """The payload is encrypted and no key was given, or the key given does not decrypt it.

    ``missing`` is set when no key was given; otherwise the key is wrong (the decrypted payload
    fails its check: no ``2F 2F`` at the start, a bad payload CRC or a bad MAC).
    """

    def __init__(self, reason: str, *, missing: bool, offset: int | None = None) -> None:
        self.missing = missing
        super().__init__(reason, offset=offset)
