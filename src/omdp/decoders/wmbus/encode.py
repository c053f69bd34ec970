"""Build wireless M-Bus telegrams: the inverse of :func:`omdp.decoders.wmbus.decode`.

Used by the simulator and the tests: a telegram of records (made with
:func:`omdp.decoders.mbus.encode.make_record`) with a short or long transport header, in the
clear or encrypted with security mode 5 or 7, in frame format A, B or without CRCs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from omdp.decoders.mbus.header import manufacturer_code
from omdp.decoders.mbus.records import DataRecord
from omdp.decoders.wmbus import security
from omdp.decoders.wmbus.compact import format_bytes, signature
from omdp.decoders.wmbus.crc import crc16
from omdp.decoders.wmbus.link import FORMAT_NONE, add_crcs

C_SND_NR: Final = 0x44
#: AFL for mode 7: FCL with MCL, MCR and MAC present; MCL = AES-CMAC-128 truncated to 8 bytes
_FCL_MODE7: Final = 0x2000 | 0x0800 | 0x0400
_MCL_CMAC8: Final = 0x25  # MCMP (counter present) | AT = 5 (CMAC, 8 bytes)


@dataclass(frozen=True, slots=True)
class MeterIdentity:
    """Who sends: manufacturer letters, 8-digit id, version, device type."""

    manufacturer: str
    id: str
    version: int
    device_type: int

    def a_field(self) -> bytes:
        """Return ``M(2) A(6)`` as on the wire."""
        return (
            manufacturer_code(self.manufacturer).to_bytes(2, "little")
            + bytes.fromhex(self.id.rjust(8, "0"))[::-1]
            + bytes((self.version, self.device_type))
        )


def record_bytes(records: Sequence[DataRecord]) -> bytes:
    """Return records as on the wire."""
    return b"".join(r.raw for r in records)


def encode_telegram(
    meter: MeterIdentity,
    records: Sequence[DataRecord],
    *,
    access_number: int,
    status: int = 0,
    key: bytes | None = None,
    mode: int = 5,
    counter: int = 0,
    long_header: bool = False,
    control: int = C_SND_NR,
    frame_format: str = FORMAT_NONE,
) -> bytes:
    """Return one telegram from its L-field on.

    Args:
        meter: the sender.
        records: the data records.
        access_number: the TPL access number (0-255).
        status: the TPL status byte.
        key: encrypt with this AES-128 key (mode 5 or 7); ``None`` sends in the clear.
        mode: 5 or 7 when ``key`` is given.
        counter: the AFL message counter (mode 7).
        long_header: CI 0x72 with the meter's address in the header instead of CI 0x7A.
        control: the C-field.
        frame_format: ``none``, ``A`` or ``B`` (adds the link-layer CRCs).
    """
    address = meter.a_field()
    plain = record_bytes(records)
    config = 0
    cfe = b""
    if key is not None:
        plain = security.pad(security.CHECK + plain)
        config = (mode << 8) | ((len(plain) // 16) << 4)
        if mode == 7:
            cfe = b"\x10"  # KDF A (AES-CMAC), key id 0
    head = bytes((access_number & 0xFF, status)) + config.to_bytes(2, "little") + cfe
    if long_header:
        tpl_ci, head = 0x72, address[2:6] + address[0:2] + address[6:8] + head
    else:
        tpl_ci = 0x7A
    afl = b""
    body = plain
    if key is not None and mode == 5:
        body = security.cbc_encrypt(key, security.mode5_iv(address, access_number), plain)
    elif key is not None and mode == 7:
        ident = address[2:6]
        k_enc = security.kdf(key, security.KDF_ENC_METER, counter, ident)
        body = security.cbc_encrypt(k_enc, bytes(16), plain)
        tpl = bytes((tpl_ci,)) + head + body
        k_mac = security.kdf(key, security.KDF_MAC_METER, counter, ident)
        mcr = counter.to_bytes(4, "little")
        mac = security.cmac(k_mac, bytes((_MCL_CMAC8,)) + mcr + tpl)[:8]
        fields = _FCL_MODE7.to_bytes(2, "little") + bytes((_MCL_CMAC8,)) + mcr + mac
        afl = bytes((0x90, len(fields))) + fields
    elif key is not None:
        msg = f"security mode {mode}: only 5 and 7 can be encoded"
        raise ValueError(msg)
    frame = bytes((control,)) + address + afl + bytes((tpl_ci,)) + head + body
    return add_crcs(bytes((len(frame),)) + frame, frame_format)


def encode_compact(
    meter: MeterIdentity,
    records: Sequence[DataRecord],
    *,
    access_number: int,
    frame_format: str = FORMAT_NONE,
) -> bytes:
    """Return a compact frame (ELL CI 0x8C, then CI 0x79) of records whose format is known."""
    sig = signature(format_bytes(records))
    full = record_bytes(records)
    data = b"".join(r.data for r in records)
    payload = bytes((0x79,)) + sig.to_bytes(2, "little") + crc16(full).to_bytes(2, "little")
    frame = (
        bytes((C_SND_NR,))
        + meter.a_field()
        + bytes((0x8C, 0x20, access_number & 0xFF))
        + payload
        + data
    )
    return add_crcs(bytes((len(frame),)) + frame, frame_format)


def encode_raw(
    meter: MeterIdentity,
    ci: int,
    payload: bytes,
    *,
    control: int = C_SND_NR,
    frame_format: str = FORMAT_NONE,
) -> bytes:
    """Return a telegram whose application data after ``ci`` is ``payload`` as it is.

    For manufacturer-specific CIs (0xA0-0xB7) and hand-made test telegrams of drivers.
    """
    frame = bytes((control,)) + meter.a_field() + bytes((ci,)) + payload
    return add_crcs(bytes((len(frame),)) + frame, frame_format)
