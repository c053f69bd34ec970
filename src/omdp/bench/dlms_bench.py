"""``omdp bench dlms``: decode and decrypt DLMS pushes with our codec and with dlms-cosem.

Two sets of frames, both decoders in the same process on the same bytes:

* plain pushes: the public corpus (``tests/frames/dlms``: Aidon, Kaifa, Kamstrup lists and
  HDLC frames; the APDU each carries is what dlms-cosem is given);
* ciphered pushes: 200 pushes of the simulated meter, HDLC, AES-128-GCM authenticated and
  encrypted (security suite 0), each a different frame counter.

dlms-cosem's work per frame: ``DataNotification.from_bytes`` (plus ``GeneralGlobalCipher`` and
``security.decrypt`` for ciphered ones) and its A-XDR decoder over the body: it returns raw lists
(no OBIS pairing, scaling or units), so the comparison favours it. Frames it rejects (Kaifa's
tagged date-time) are counted and left out of the ratio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omdp.decoders.dlms import DlmsKeys, decode_apdu, decode_capture
from omdp.decoders.dlms.hdlc import parse_hdlc, strip_llc
from omdp.simulators.dlms_meter import DEMO_KEY, DlmsMeter
from omdp.simulators.profiles import HouseholdProfile

_ROOT = Path(__file__).resolve().parents[3]
KEYS = DlmsKeys.from_hex(DEMO_KEY, DEMO_KEY)


def _plain_corpus() -> list[bytes]:
    folder = _ROOT / "tests" / "frames" / "dlms"
    frames = []
    for path in sorted(folder.glob("*.hex")):
        raw = bytes.fromhex("".join(path.read_text().split()))
        if raw[:1] == b"\x7e":
            raw = strip_llc(parse_hdlc(raw).information)
        if raw[:1] == b"\x0f":
            frames.append(raw)
    return frames


def _ciphered(n: int) -> list[bytes]:
    origin = 1_700_000_000.0
    meter = DlmsMeter(
        profile=HouseholdProfile(origin=origin), meter_profile="dlms-aidon-6xxx", keys=KEYS
    )
    return [meter.frame_at(origin + 10 * i) for i in range(n)]


def _ours_plain(apdu: bytes) -> int:
    return len(decode_apdu(apdu).telegram.values)


def _ours_ciphered(frame: bytes) -> int:
    result = decode_capture(frame, keys=KEYS)
    return sum(len(p.telegram.values) for p in result.pushes)


def _cosem() -> tuple[Callable[[bytes], int], Callable[[bytes], int]] | None:
    try:
        from dlms_cosem import a_xdr
        from dlms_cosem.protocol.xdlms import DataNotification, GeneralGlobalCipher
        from dlms_cosem.security import decrypt
    except ImportError:
        return None
    conf = a_xdr.EncodingConf(attributes=[a_xdr.Sequence(attribute_name="data")])

    def plain(apdu: bytes) -> int:
        body = DataNotification.from_bytes(apdu).body
        out: Any = a_xdr.AXdrDecoder(encoding_conf=conf).decode(body)
        return len(out["data"])

    def ciphered(frame: bytes) -> int:
        apdu = strip_llc(parse_hdlc(frame).information)
        ggc = GeneralGlobalCipher.from_bytes(apdu)
        clear = decrypt(
            ggc.security_control,
            ggc.system_title,
            ggc.invocation_counter,
            KEYS.encryption,
            ggc.ciphered_text,
            KEYS.authentication,
        )
        return plain(clear)

    return plain, ciphered


def _rate(func: Callable[[bytes], int], frames: list[bytes], seconds: float) -> float:
    n = 0
    start = time.perf_counter()
    while True:
        for frame in frames:
            func(frame)
        n += len(frames)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def _accepted(func: Callable[[bytes], int], frames: list[bytes]) -> list[bytes]:
    ok = []
    for frame in frames:
        try:
            func(frame)
        except Exception:  # noqa: S112 - a baseline that rejects a frame is left out
            continue
        ok.append(frame)
    return ok


def measure(*, quick: bool) -> dict[str, float | int | str]:
    """Measure both decoders on both sets, print frames/s and ratios, and return them."""
    seconds = 0.5 if quick else 3.0
    plain, ciphered = _plain_corpus(), _ciphered(200)
    figures: dict[str, float | int | str] = {"plain_frames": len(plain)}
    ours_plain = _rate(_ours_plain, plain, seconds)
    ours_ciph = _rate(_ours_ciphered, ciphered, seconds)
    print(f"omdp plain pushes ({len(plain)} corpus APDUs): {ours_plain:,.0f} frames/s")
    print(f"omdp ciphered HDLC pushes (AES-GCM, 200):       {ours_ciph:,.0f} frames/s")
    figures |= {"omdp_plain_per_s": round(ours_plain), "omdp_ciphered_per_s": round(ours_ciph)}
    peer = _cosem()
    if peer is None:
        print("dlms-cosem not installed (pip install dlms-cosem): no baseline")
        figures["baseline"] = "dlms-cosem not installed"
        return figures
    both = _accepted(peer[0], plain)
    print(f"dlms-cosem rejects {len(plain) - len(both)} of {len(plain)} plain corpus pushes")
    o, p = _rate(_ours_plain, both, seconds), _rate(peer[0], both, seconds)
    c_o, c_p = ours_ciph, _rate(peer[1], ciphered, seconds)
    print(f"  plain, {len(both)} both decode: omdp {o:10,.0f}/s  dlms-cosem {p:10,.0f}/s  "
          f"ratio {o / p:.1f}x")  # fmt: skip
    print(f"  ciphered, 200:            omdp {c_o:10,.0f}/s  dlms-cosem {c_p:10,.0f}/s  "
          f"ratio {c_o / c_p:.1f}x")  # fmt: skip
    figures |= {
        "dlms_cosem_rejects": len(plain) - len(both),
        "both_plain_omdp_per_s": round(o),
        "both_plain_dlms_cosem_per_s": round(p),
        "ciphered_dlms_cosem_per_s": round(c_p),
        "ratio_plain": round(o / p, 2),
        "ratio_ciphered": round(c_o / c_p, 2),
    }
    return figures


def run(*, quick: bool) -> None:
    """Print the figures."""
    measure(quick=quick)
