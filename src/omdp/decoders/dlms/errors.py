"""Errors of the DLMS/COSEM codec: each says precisely why a push was not accepted."""

from __future__ import annotations

from omdp.errors import ChecksumError, DecodeError


class DlmsError(DecodeError):
    """A DLMS frame, segment or APDU could not be decoded; ``offset`` points at the bad byte."""


class DlmsChecksumError(ChecksumError, DlmsError):
    """An HDLC FCS/HCS or an M-Bus checksum does not match the frame's contents."""


class DlmsTruncatedError(DlmsError):
    """A frame, a segment sequence or an APDU ends before its length says it does."""


class DlmsSecurityError(DlmsError):
    """A ciphered APDU could not be accepted (the subclasses say why)."""


class MissingKeyError(DlmsSecurityError):
    """The push is encrypted and no key was configured for it."""


class WrongKeyError(DlmsSecurityError):
    """The key (or authentication key) does not fit this meter's pushes."""


class ReplayError(DlmsSecurityError):
    """The frame counter did not increase: a replayed or re-ordered push."""

    def __init__(self, reason: str, *, counter: int, last: int) -> None:
        self.counter = counter
        self.last = last
        super().__init__(reason)
