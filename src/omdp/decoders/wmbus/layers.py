"""The layers between the link layer and the data records, each introduced by its CI field.

- ELL, extended link layer (EN 13757-4): CI 0x8C ``CC ACC``, 0x8D ``CC ACC SN(4) CRC(2)``,
  0x8E ``CC ACC M2(2) A2(6)``, 0x8F ``CC ACC M2 A2 SN CRC``. ``SN`` bits 29-31 say whether the
  rest is encrypted (AES-CTR); the payload CRC covers everything after it.
- AFL, authentication and fragmentation layer (EN 13757-7), CI 0x90:
  ``AFLL FCL(2) [MCL] [KI(2)] [MCR(4)] [MAC] [ML(2)]``, present parts flagged in FCL.
- TPL, transport layer (EN 13757-7): no header (0x78, 0x79, 0x71, 0x69), short header
  ``ACC ST CW(2)`` (0x7A, 0x7B, 0x74, 0x6E, 0x5A, 0x8A, 0x6A) and long header ``ID(4) M(2) VER
  MED ACC ST CW(2)`` (0x72, 0x73, 0x75, 0x6F, 0x5B, 0x8B, 0x6B). Full frames are 0x78, 0x7A,
  0x72; compact frames (no DIF/VIF, a format signature) 0x79, 0x7B, 0x73; format frames (the
  DIF/VIF bytes a compact frame leaves out) 0x69, 0x6A, 0x6B. ``CW``, the configuration word,
  holds the security mode (bits 8-12) and the number of encrypted 16-byte blocks (bits 4-7);
  mode 7 adds one configuration field extension byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from omdp.decoders.mbus.header import Header
from omdp.decoders.wmbus.errors import WMBusTruncatedError

ELL_LENGTHS: Final = MappingProxyType({0x8C: 2, 0x8D: 8, 0x8E: 10, 0x8F: 16})
CI_AFL: Final = 0x90

HEADER_NONE: Final = "none"
HEADER_SHORT: Final = "short"
HEADER_LONG: Final = "long"

#: TPL CI -> (header kind, what the application data is).
TPL_CI: Final = MappingProxyType(
    {
        0x78: (HEADER_NONE, "response"),
        0x79: (HEADER_NONE, "compact"),
        0x7A: (HEADER_SHORT, "response"),
        0x72: (HEADER_LONG, "response"),
        0x73: (HEADER_LONG, "compact"),
        0x7B: (HEADER_SHORT, "compact"),
        0x69: (HEADER_NONE, "format"),
        0x6A: (HEADER_SHORT, "format"),
        0x6B: (HEADER_LONG, "format"),
        0x71: (HEADER_NONE, "alarm"),
        0x74: (HEADER_SHORT, "alarm"),
        0x75: (HEADER_LONG, "alarm"),
        0x70: (HEADER_NONE, "error"),
        0x6E: (HEADER_SHORT, "error"),
        0x6F: (HEADER_LONG, "error"),
        0x51: (HEADER_NONE, "command"),
        0x5A: (HEADER_SHORT, "command"),
        0x5B: (HEADER_LONG, "command"),
        0x8A: (HEADER_SHORT, "ack"),
        0x8B: (HEADER_LONG, "ack"),
    }
)


@dataclass(frozen=True, slots=True)
class Ell:
    """The extended link layer: communication control, access number, session, M2/A2."""

    ci: int
    cc: int
    access_number: int
    session: int | None = None
    payload_crc: int | None = None
    address2: bytes | None = None  # M2(2) A2(6) as on the wire

    @property
    def encrypted(self) -> bool:
        """Return whether SN says the payload is encrypted (AES-128-CTR)."""
        return self.session is not None and (self.session >> 29) != 0


@dataclass(frozen=True, slots=True)
class Afl:
    """The authentication and fragmentation layer."""

    fcl: int
    mcl: int | None = None
    key_info: int | None = None
    counter: int | None = None
    mac: bytes = b""
    length: int | None = None

    @property
    def more_fragments(self) -> bool:
        """Return whether this telegram is a fragment with more to follow."""
        return bool(self.fcl & 0x4000)


@dataclass(frozen=True, slots=True)
class Tpl:
    """The transport layer: its CI, its header (``None`` without one) and its security."""

    ci: int
    kind: str
    header: Header | None
    config: int = 0
    cfe: int | None = None

    @property
    def security_mode(self) -> int:
        """Return the security mode of the configuration word (0 clear, 5, 7, ...)."""
        return (self.config >> 8) & 0x1F

    @property
    def encrypted_blocks(self) -> int:
        """Return the number of encrypted 16-byte blocks (modes 5 and 7)."""
        return (self.config >> 4) & 0x0F


def _need(frame: bytes, pos: int, n: int, what: str) -> None:
    if len(frame) - pos < n:
        msg = f"telegram truncated: {what} needs {n} bytes, {len(frame) - pos} left"
        raise WMBusTruncatedError(msg, offset=len(frame))


def parse_ell(frame: bytes, pos: int) -> tuple[Ell, int]:
    """Parse the ELL whose CI is at ``frame[pos]``; return it and the offset after it."""
    ci = frame[pos]
    n = ELL_LENGTHS[ci]
    _need(frame, pos + 1, n, f"extended link layer (CI 0x{ci:02X})")
    b = frame[pos + 1 : pos + 1 + n]
    address2 = bytes(b[2:10]) if ci in (0x8E, 0x8F) else None
    session = crc = None
    if ci in (0x8D, 0x8F):
        at = 10 if ci == 0x8F else 2
        session = int.from_bytes(b[at : at + 4], "little")
        crc = int.from_bytes(b[at + 4 : at + 6], "little")
    return Ell(ci, b[0], b[1], session, crc, address2), pos + 1 + n


def parse_afl(frame: bytes, pos: int) -> tuple[Afl, int]:
    """Parse the AFL whose CI (0x90) is at ``frame[pos]``."""
    _need(frame, pos + 1, 1, "AFL length")
    afll = frame[pos + 1]
    start = pos + 2
    _need(frame, start, afll, "authentication and fragmentation layer")
    b = frame[start : start + afll]
    if afll < 2:
        msg = f"AFL length {afll}: the fragmentation control field alone needs 2"
        raise WMBusTruncatedError(msg, offset=pos + 1)
    fcl = int.from_bytes(b[0:2], "little")
    i = 2
    mcl = key_info = counter = length = None
    mac = b""
    if fcl & 0x2000 and i < afll:  # MCLP
        mcl = b[i]
        i += 1
    if fcl & 0x0200 and i + 2 <= afll:  # KIP
        key_info = int.from_bytes(b[i : i + 2], "little")
        i += 2
    if fcl & 0x0800 and i + 4 <= afll:  # MCRP
        counter = int.from_bytes(b[i : i + 4], "little")
        i += 4
    if fcl & 0x0400:  # MACP: what is left before ML
        end = afll - (2 if fcl & 0x1000 else 0)
        mac = bytes(b[i:end])
        i = end
    if fcl & 0x1000 and i + 2 <= afll:  # MLP
        length = int.from_bytes(b[i : i + 2], "little")
    return Afl(fcl, mcl, key_info, counter, mac, length), start + afll


def parse_tpl(frame: bytes, pos: int) -> tuple[Tpl, int]:
    """Parse the TPL header whose CI is at ``frame[pos]`` (a key of :data:`TPL_CI`)."""
    ci = frame[pos]
    kind = TPL_CI[ci][0]
    i = pos + 1
    if kind == HEADER_NONE:
        return Tpl(ci, kind, None), i
    ident = man = version = medium = None
    if kind == HEADER_LONG:
        _need(frame, i, 12, f"long transport header (CI 0x{ci:02X})")
        ident = frame[i : i + 4][::-1].hex().upper()
        man = int.from_bytes(frame[i + 4 : i + 6], "little")
        version, medium = frame[i + 6], frame[i + 7]
        i += 8
    else:
        _need(frame, i, 4, f"short transport header (CI 0x{ci:02X})")
    acc, status = frame[i], frame[i + 1]
    config = int.from_bytes(frame[i + 2 : i + 4], "little")
    i += 4
    header = Header(ident, man, version, medium, acc, status, config)
    cfe = None
    if (config >> 8) & 0x1F == 7:  # mode 7: configuration field extension
        _need(frame, i, 1, "configuration field extension")
        cfe = frame[i]
        i += 1
    return Tpl(ci, kind, header, config, cfe), i
