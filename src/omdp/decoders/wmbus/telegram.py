"""Decode one wireless M-Bus telegram: link layer, ELL, AFL, TPL, security, records, driver.

``decode(data, key=...)`` returns a :class:`Telegram`. The data records are read by the wired
M-Bus application layer (:mod:`omdp.decoders.mbus.records`), the same tables and units; a
declarative driver (:mod:`omdp.decoders.wmbus.drivers`) adds named values where the meter's
manufacturer-specific data needs one.

What is refused, and how:

- a bad link-layer or ELL payload CRC: :class:`WMBusCrcError`;
- a telegram shorter than its L-field or a header: :class:`WMBusTruncatedError`;
- an encrypted payload without a key, or one the key does not decrypt: :class:`WMBusKeyError`
  (``missing`` tells which).

A payload that its header calls encrypted but that is stored in the clear (``2F 2F`` present,
or the ELL payload CRC matching) is taken as it is when no key is given, as meters and test
captures do.
"""

from __future__ import annotations

from dataclasses import replace

from omdp.decoders.mbus.errors import MBusDecodeError
from omdp.decoders.mbus.records import DataRecord, parse_records
from omdp.decoders.wmbus import compact, diehl, security, wired
from omdp.decoders.wmbus.crc import crc16
from omdp.decoders.wmbus.drivers import apply_driver
from omdp.decoders.wmbus.errors import (
    WMBusCrcError,
    WMBusDecodeError,
    WMBusKeyError,
    WMBusTruncatedError,
)
from omdp.decoders.wmbus.layers import (
    CI_AFL,
    ELL_LENGTHS,
    TPL_CI,
    Afl,
    Ell,
    Tpl,
    parse_afl,
    parse_ell,
    parse_tpl,
)
from omdp.decoders.wmbus.link import LinkHeader, parse_link_header, strip_crcs, wire_length
from omdp.decoders.wmbus.model import (
    SECURITY_DES,
    SECURITY_ELL,
    SECURITY_LFSR,
    SECURITY_MFCT,
    SECURITY_MODE5,
    SECURITY_MODE7,
    SECURITY_NONE,
    SECURITY_STORED,
    Telegram,
)
from omdp.decoders.wmbus.reread import reread


def _address(link: LinkHeader, tpl: Tpl | None) -> bytes:
    """The ``M(2) A(6)`` the IV is built from: the long TPL header's where there is one."""
    h = tpl.header if tpl else None
    if h is None or h.id is None or h.manufacturer_code is None:
        return link.address
    return (
        h.manufacturer_code.to_bytes(2, "little")
        + bytes.fromhex(h.id)[::-1]
        + bytes((h.version or 0, h.medium or 0))
    )


def _decrypt_ell(
    frame: bytes, pos: int, ell: Ell, link: LinkHeader, key: bytes | None
) -> tuple[bytes, str]:
    """Decrypt the ELL payload (CRC included) in place; return the frame and the security."""
    body = frame[pos - 2 :]  # the payload CRC is encrypted with the rest

    def crc_of(plain: bytes) -> bool:
        return int.from_bytes(plain[:2], "little") == crc16(plain[2:])

    if key is not None:
        _aes(key, pos)
        iv = security.ell_iv(link.address, ell.cc, ell.session or 0)
        plain = security.ctr_crypt(key, iv, body)
        if crc_of(plain):
            return frame[: pos - 2] + plain, SECURITY_ELL
        if crc_of(body):
            return frame, SECURITY_STORED
        msg = "wrong key: the ELL payload CRC does not match after AES-CTR decryption"
        raise WMBusKeyError(msg, missing=False, offset=pos - 2)
    if crc_of(body):
        return frame, SECURITY_STORED
    msg = "encrypted (ELL AES-128-CTR) and no key given"
    raise WMBusKeyError(msg, missing=True, offset=pos)


def _aes(key: bytes, pos: int) -> None:
    try:
        security.require_aes(key)
    except ValueError as exc:
        raise WMBusKeyError(str(exc), missing=False, offset=pos) from None


def _check_ell_crc(frame: bytes, pos: int) -> None:
    want = int.from_bytes(frame[pos - 2 : pos], "little")
    got = crc16(frame[pos:])
    if want != got:
        msg = f"bad ELL payload CRC: 0x{want:04X}, computed 0x{got:04X}"
        raise WMBusCrcError(msg, offset=pos - 2)


def _decrypt_tpl(
    frame: bytes,
    pos: int,
    tpl: Tpl,
    *,
    afl: Afl | None,
    link: LinkHeader,
    key: bytes | None,
    tpl_start: int,
) -> tuple[bytes, str]:
    """Decrypt a mode 2, 3, 5 or 7 TPL payload; return the plain payload and the security."""
    mode = tpl.security_mode
    payload = frame[pos:]
    n = tpl.encrypted_blocks * 16
    if n == 0 or n > len(payload):
        n = len(payload) - len(payload) % 16
    stored = payload[:2] == security.CHECK
    if key is None:
        if stored:
            return payload, SECURITY_STORED
        msg = f"encrypted (security mode {mode}) and no key given"
        raise WMBusKeyError(msg, missing=True, offset=pos)
    if mode in (2, 3):
        return _decrypt_des(payload, pos, tpl, link=link, key=key, stored=stored)
    _aes(key, pos)
    if mode == 5:
        acc = tpl.header.access_number if tpl.header else 0
        iv = security.mode5_iv(_address(link, tpl), acc or 0)
        plain = security.cbc_decrypt(key, iv, payload[:n]) + payload[n:]
        used = SECURITY_MODE5
    else:
        if afl is None or afl.counter is None:
            msg = "security mode 7 without an AFL message counter"
            raise WMBusDecodeError(msg, offset=tpl_start)
        ident = _address(link, tpl)[2:6]
        if afl.mac:
            k_mac = security.kdf(key, security.KDF_MAC_METER, afl.counter, ident)
            mac_input = bytes((afl.mcl or 0,)) + afl.counter.to_bytes(4, "little")
            if afl.length is not None:
                mac_input += afl.length.to_bytes(2, "little")
            mac = security.cmac(k_mac, mac_input + frame[tpl_start:])
            if mac[: len(afl.mac)] != afl.mac:
                if stored:
                    return payload, SECURITY_STORED
                msg = "wrong key: the AFL MAC does not match (security mode 7)"
                raise WMBusKeyError(msg, missing=False, offset=tpl_start)
        k_enc = security.kdf(key, security.KDF_ENC_METER, afl.counter, ident)
        plain = security.cbc_decrypt(k_enc, bytes(16), payload[:n]) + payload[n:]
        used = SECURITY_MODE7
    if plain[:2] == security.CHECK:
        return plain, used
    if stored:
        return payload, SECURITY_STORED
    msg = f"wrong key: no 2F 2F after decryption (security mode {mode})"
    raise WMBusKeyError(msg, missing=False, offset=pos)


def _reread(records: tuple[DataRecord, ...]) -> tuple[DataRecord, ...]:
    return tuple(r for record in records for r in reread(record))


def _decrypt_des(
    payload: bytes, pos: int, tpl: Tpl, *, link: LinkHeader, key: bytes, stored: bool
) -> tuple[bytes, str]:
    """Decrypt a mode 2 or 3 (DES-CBC) TPL payload."""
    mode = tpl.security_mode
    if len(key) != security.DES_KEY_LEN:
        msg = f"security mode {mode} (DES) needs an 8-byte key, the key given has {len(key)}"
        raise WMBusKeyError(msg, missing=False, offset=pos)
    n = len(payload) - len(payload) % security.DES_BLOCK
    iv = bytes(security.DES_BLOCK) if mode == 2 else _address(link, tpl)
    plain = security.des_cbc_decrypt(key, iv, payload[:n]) + payload[n:]
    if plain[:2] == security.CHECK:
        return plain, SECURITY_DES
    if stored:
        return payload, SECURITY_STORED
    msg = f"wrong key: no 2F 2F after decryption (security mode {mode}, DES)"
    raise WMBusKeyError(msg, missing=False, offset=pos)


def _records(buf: bytes, offset: int) -> tuple[tuple[DataRecord, ...], tuple[str, ...]]:
    """Parse records (as the wire has them); on a bad record keep those before it, and warn."""
    try:
        return parse_records(buf, 0, len(buf)), ()
    except MBusDecodeError as exc:
        bad = exc.offset if exc.offset is not None else len(buf)
        warning = f"records after byte {offset + bad} not read: {exc.reason}"
        for end in range(bad, 0, -1):
            try:
                return parse_records(buf, 0, end), (warning,)
            except MBusDecodeError:
                continue
        return (), (warning,)


def decode(
    data: bytes | bytearray | memoryview,
    *,
    key: bytes | None = None,
    frame_format: str = "auto",
    formats: compact.FormatStore | None = None,
    rssi_dbm: float | None = None,
    drivers: bool = True,
) -> Telegram:
    """Decode one telegram.

    Args:
        data: the telegram from its L-field on, with or without link-layer CRCs; or (with
            ``frame_format`` ``auto``) a wired M-Bus long frame with a long transport header,
            read as the radio telegram it is equivalent to (:mod:`.wired`).
        key: the meter's AES-128 key, if it has one.
        frame_format: ``auto``, ``A``, ``B`` or ``none`` (CRCs already removed).
        formats: where compact frames find their formats, and full frames leave theirs;
            default: a new, empty store (a compact frame then decodes to no records).
        rssi_dbm: the signal strength the receiver measured, carried along.
        drivers: apply a matching declarative driver.

    Raises:
        WMBusCrcError: a link-layer or ELL CRC does not match.
        WMBusTruncatedError: the telegram is shorter than a length or header says.
        WMBusKeyError: encrypted, and the key is missing or wrong.
        WMBusDecodeError: any other reason the telegram cannot be read.
    """
    raw = bytes(data)
    as_radio = wired.as_wireless(raw) if frame_format == "auto" else None
    if as_radio is not None:
        tele = _decode(as_radio, wired.FORMAT_WIRED, key, formats, rssi_dbm)
        return apply_driver(tele, key) if drivers else tele
    origin, fmt = strip_crcs(raw, frame_format)
    tele = _decode(origin, fmt, key, formats, rssi_dbm)
    trailing = len(raw) - wire_length(raw[0], fmt)
    if trailing > 0:
        tele = replace(tele, warnings=(*tele.warnings, f"{trailing} byte(s) after the telegram"))
    return apply_driver(tele, key) if drivers else tele


def _decode(
    origin: bytes,
    fmt: str,
    key: bytes | None,
    formats: compact.FormatStore | None,
    rssi_dbm: float | None,
) -> Telegram:
    how = diehl.layout(origin)
    frame = diehl.standard_address(origin, how)
    link = parse_link_header(frame)
    pos = 10
    if len(frame) <= pos:
        msg = "telegram truncated: no CI field after the link header"
        raise WMBusTruncatedError(msg, offset=len(frame))
    ell = afl = None
    sec = SECURITY_NONE
    while pos < len(frame) and (frame[pos] in ELL_LENGTHS or frame[pos] == CI_AFL):
        if frame[pos] == CI_AFL:
            afl, pos = parse_afl(frame, pos)
            continue
        ell, pos = parse_ell(frame, pos)
        if ell.session is not None:
            if ell.encrypted:
                frame, sec = _decrypt_ell(frame, pos, ell, link, key)
            else:
                _check_ell_crc(frame, pos)
    if pos >= len(frame):
        return Telegram(link, fmt, ell.ci if ell else frame[-1], ell, afl, security=sec)
    ci = frame[pos]
    if ci not in TPL_CI:
        payload = frame[pos + 1 :]
        if how in (diehl.Layout.PRIOS, diehl.Layout.SAP_PRIOS, diehl.Layout.PRIOS_SCR):
            plain = diehl.unscramble(origin, frame, how, key)
            if plain is not None:
                payload, sec = frame[pos + 1 : 15] + plain, SECURITY_LFSR
        return Telegram(link, fmt, ci, ell, afl, None, (), payload, sec, rssi_dbm=rssi_dbm)
    tpl_start = pos
    tpl, pos = parse_tpl(frame, pos)
    mode = tpl.security_mode
    payload = frame[pos:]
    if how == diehl.Layout.REAL_DATA and pos == 15:
        plain = diehl.unscramble(origin, frame, how, key)
        mode = 0
        if plain is not None:
            payload, sec = plain, SECURITY_LFSR
        else:  # as test captures keep them: already unscrambled
            sec = SECURITY_STORED
    if mode in (2, 3, 5, 7):
        if key is None and how == diehl.Layout.OMS and payload[:2] != security.CHECK:
            key = diehl.DEFAULT_OMS_KEY
        payload, sec = _decrypt_tpl(
            frame, pos, tpl, afl=afl, link=link, key=key, tpl_start=tpl_start
        )
    elif mode >= 16:
        sec = SECURITY_MFCT
    elif mode != 0:
        msg = f"security mode {mode} is not supported (only 0, 2, 3, 5 and 7)"
        raise WMBusKeyError(msg, missing=False, offset=tpl_start)
    records: tuple[DataRecord, ...] = ()
    warnings: tuple[str, ...] = ()
    sig = None
    store = formats if formats is not None else _default_store()
    kind = TPL_CI[ci][1]
    checked = sec in (SECURITY_MODE5, SECURITY_MODE7, SECURITY_DES, SECURITY_STORED)
    skip = 2 if checked and payload[:2] == security.CHECK else 0  # the decryption check
    if sec == SECURITY_MFCT:
        warnings = (f"manufacturer-specific security mode {mode}: payload left as it is",)
    elif kind == "compact":
        records, warnings, sig = _compact(payload[skip:], pos + skip, store)
    elif kind == "format":
        warnings, sig = _format_frame(payload[skip:], store)
    elif kind in ("response", "alarm", "command"):
        records, warnings = _records(payload, pos)
        store.learn(records)
        records = _reread(records)
    return Telegram(
        link, fmt, ci, ell, afl, tpl, records, payload, sec, sig, rssi_dbm, warnings=warnings
    )


def _compact(
    payload: bytes, pos: int, store: compact.FormatStore
) -> tuple[tuple[DataRecord, ...], tuple[str, ...], int | None]:
    if len(payload) < 4:
        msg = "telegram truncated: a compact frame needs format signature and data CRC"
        raise WMBusTruncatedError(msg, offset=pos + len(payload))
    sig = int.from_bytes(payload[0:2], "little")
    data_crc = int.from_bytes(payload[2:4], "little")
    found = store.lookup(sig)
    unknown = f"compact frame of unknown format 0x{sig:04X}: wait for a full frame"
    if found is None:
        return (), (unknown,), sig
    fmt, own = found
    try:
        full = compact.expand(fmt, payload[4:], offset=pos + 4)
    except WMBusDecodeError:
        if own:
            raise
        return (), (unknown,), sig
    crc_ok = data_crc in (crc16(full), crc16(full.rstrip(b"\x2f")))
    if not crc_ok and not own:  # another meter's format that does not fit this one's data
        return (), (unknown,), sig
    records, warnings = _records(full, pos + 4)
    records = _reread(records)
    if not crc_ok:
        warnings += (f"compact frame data CRC 0x{data_crc:04X} does not match its format",)
    return records, warnings, sig


def _format_frame(payload: bytes, store: compact.FormatStore) -> tuple[tuple[str, ...], int]:
    """Learn the format a format frame (CI 0x69-0x6B) announces: ``[length] signature format``.

    The signature must be the CRC of the DIF/VIF bytes that follow it, or nothing is learnt.
    """
    for start in (0, 1):
        body = payload[start + 2 :].rstrip(b"\x2f")
        if len(body) < 2:
            continue
        sig = int.from_bytes(payload[start : start + 2], "little")
        if compact.signature(body) == sig:
            try:
                store.add(body)
            except WMBusDecodeError as exc:
                return (f"format frame not learnt: {exc.reason}",), sig
            return (), sig
    sig = int.from_bytes(payload[:2], "little") if len(payload) >= 2 else 0
    return ("format frame not learnt: its signature is not the CRC of its DIF/VIF bytes",), sig


def _default_store() -> compact.FormatStore:
    return compact.FormatStore()
