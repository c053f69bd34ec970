"""Compact frames (CI 0x79, 0x7B, 0x73): data without its DIF/VIF bytes, named by a signature.

A meter that sends compact frames sends the full frame now and then. The *format signature*
is the CRC (EN 13757-4) of the full frame's DIF/VIF bytes, all records in order; the *data CRC*
is the CRC of the whole full frame (DIF/VIF and data). A :class:`FormatStore` remembers the
formats of the full frames (and format frames, CI 0x69-0x6B) it has seen, and rebuilds a
compact frame's records from them. No format is shipped: a compact frame decodes once its
meter's full frame has been heard (the adapter keeps what it learnt across restarts; ``omdp
wmbus decode --context`` takes earlier telegrams).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Final

from omdp.decoders.mbus.records import DataRecord, lvar_length
from omdp.decoders.mbus.tables import DATA_LENGTH
from omdp.decoders.wmbus.crc import crc16
from omdp.decoders.wmbus.errors import WMBusDecodeError

_DEFAULT_LIMIT: Final = 1024


def format_bytes(records: Iterable[DataRecord]) -> bytes:
    """Return the DIF/VIF bytes of records in order (what the signature is computed over)."""
    return b"".join(r.dib + r.vib for r in records if r.vib)


def signature(fmt: bytes) -> int:
    """Return the format signature of DIF/VIF bytes."""
    return crc16(fmt)


def _split_format(fmt: bytes) -> list[tuple[bytes, bytes]]:
    """Split DIF/VIF bytes into ``(dib, vib)`` pairs.

    Raises:
        WMBusDecodeError: the bytes end inside a DIB or VIB.
    """
    out = []
    i, n = 0, len(fmt)
    while i < n:
        start = i
        while fmt[i] & 0x80:
            i += 1
            if i >= n:
                msg = "compact format ends inside a DIB"
                raise WMBusDecodeError(msg)
        i += 1
        dib_end = i
        if i >= n:
            msg = "compact format ends before a VIF"
            raise WMBusDecodeError(msg)
        while fmt[i] & 0x80:
            i += 1
            if i >= n:
                msg = "compact format ends inside a VIB"
                raise WMBusDecodeError(msg)
        i += 1
        out.append((fmt[start:dib_end], fmt[dib_end:i]))
    return out


def expand(fmt: bytes, data: bytes, *, offset: int = 0) -> bytes:
    """Interleave DIF/VIF bytes with a compact frame's data into full-frame record bytes.

    Raises:
        WMBusDecodeError: the data is shorter than the format needs.
    """
    out = bytearray()
    i = 0
    for dib, vib in _split_format(fmt):
        length = DATA_LENGTH[dib[0] & 0x0F]
        if length == -1:
            if i >= len(data):
                msg = "compact frame truncated: LVAR expected"
                raise WMBusDecodeError(msg, offset=offset + i)
            length = 1 + lvar_length(data[i])
        elif length < 0:
            length = 0
        if i + length > len(data):
            msg = f"compact frame truncated: {length} data bytes expected, {len(data) - i} left"
            raise WMBusDecodeError(msg, offset=offset + len(data))
        out += dib + vib + data[i : i + length]
        i += length
    out += data[i:]  # what the format does not describe (fillers, manufacturer data)
    return bytes(out)


class FormatStore:
    """Formats of compact frames by signature, as learnt from full frames.

    Bounded: past ``limit`` learned formats, the oldest is forgotten.
    """

    def __init__(
        self,
        formats: Iterable[bytes] = (),
        *,
        limit: int = _DEFAULT_LIMIT,
        shared: FormatStore | None = None,
    ) -> None:
        """Start with formats learnt before (DIF/VIF bytes, as :meth:`export` gave them).

        ``shared``: a store of the formats other meters taught (one receiver's meters of the
        same model send the same format); what this one learns goes there too. A compact
        frame decodes from a shared format only when its data CRC then matches.
        """
        self.shared = shared
        self._known: OrderedDict[int, bytes] = OrderedDict()
        self._seen: dict[bytes, int] = {}  # format -> signature, to skip the CRC of known ones
        self._limit = limit
        self.revision = 0
        for fmt in formats:
            self.add(fmt)
        self.revision = 0  # counts the formats learnt since: when to save them again

    def learn(self, records: Iterable[DataRecord]) -> int | None:
        """Remember the format of a full frame's records; return its signature."""
        fmt = format_bytes(records)
        if not fmt:
            return None
        if self.shared is not None:
            self.shared.learn(records)
        sig = self._seen.get(fmt)
        if sig is not None and sig in self._known:
            return sig
        sig = signature(fmt)
        if len(self._seen) >= self._limit:
            self._seen.clear()
        self._seen[fmt] = sig
        if self._known.get(sig) != fmt:
            self.revision += 1
        self._known[sig] = fmt
        self._known.move_to_end(sig)
        while len(self._known) > self._limit:
            self._known.popitem(last=False)
        return sig

    def add(self, fmt: bytes) -> int:
        """Remember DIF/VIF bytes as a format; return its signature.

        Raises:
            WMBusDecodeError: the bytes are not whole DIF/VIF pairs.
        """
        _split_format(fmt)
        sig = signature(fmt)
        if self._known.get(sig) != fmt:
            self.revision += 1
        self._known[sig] = fmt
        self._known.move_to_end(sig)
        while len(self._known) > self._limit:
            self._known.popitem(last=False)
        return sig

    def get(self, sig: int) -> bytes | None:
        """Return the DIF/VIF bytes of a signature, if known."""
        return self._known.get(sig)

    def lookup(self, sig: int) -> tuple[bytes, bool] | None:
        """Return the format of a signature and whether it is this store's own (else shared)."""
        own = self._known.get(sig)
        if own is not None:
            return own, True
        other = self.shared.get(sig) if self.shared is not None else None
        return (other, False) if other is not None else None

    def export(self) -> list[str]:
        """Return the known formats as hex (to persist them)."""
        return [fmt.hex().upper() for fmt in self._known.values()]

    def __len__(self) -> int:
        return len(self._known)
