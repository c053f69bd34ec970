"""Errors of the M-Bus codec: every decoder failure is an :class:`MBusDecodeError`."""

from __future__ import annotations

from omdp.errors import ChecksumError, DecodeError, OmdpError


class MBusDecodeError(DecodeError):
    """An M-Bus frame or record could not be decoded; ``offset`` points at the bad byte."""


class MBusChecksumError(ChecksumError, MBusDecodeError):
    """The checksum of an M-Bus frame does not match its contents."""


class MBusSlaveError(MBusDecodeError):
    """The slave answered with an application error (CI 0x70) instead of data.

    ``code`` is the error byte (``None`` when the frame carries none) and ``text`` its meaning.
    """

    def __init__(self, text: str, *, code: int | None, offset: int | None = None) -> None:
        self.code = code
        self.text = text
        super().__init__(f"slave reports application error: {text}", offset=offset)


class MBusEncodeError(OmdpError, ValueError):
    """A value cannot be represented in the requested M-Bus coding (a programming error)."""
