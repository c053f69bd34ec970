"""``omdp bench dlms``: decode and decrypt DLMS pushes with our codec and with dlms-cosem.

Two sets of frames, both decoders in the same process on the same bytes:

* plain pushes: the public corpus (``tests/frames/dlms``: Aidon, Kaifa, Kamstrup lists and
  HDLC frames; the APDU each carries is what dlms-cosem is given);
* ciphered pushes: 200 pushes of the simulated meter, HDLC, AES-128-GCM authenticated and
  encrypted (security suite 0), each a different frame counter.

dlms-cosem's work per frame: ``DataNotification.from_bytes`` (plus ``GeneralGlobalCipher`` and
``security.decrypt`` for ciphered ones) and its A-XDR decoder over the body: it returns raw lists
(no OBIS pairing, scaling or units), so the comparison favours it. Frames it rejects (Kaifa's
tagged date-time) are counted and left out of the ratio. For ciphered frames it is measured
twice: given the APDU of our HDLC parser (the strict baseline: only its APDU work counts), and
from the wire bytes with its own HDLC frame parser (``UnnumberedInformationFrame``).

The machine is shared, so wall-clock rates swing with other processes: each decoder runs in
short rounds alternating with the other, timed in process CPU time, and the best round counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omdp.bench.suite import Figures, named
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


Peer = tuple[Callable[[bytes], int], Callable[[bytes], int], Callable[[bytes], int], str]


def _cosem() -> Peer | None:
    """dlms-cosem's plain, ciphered (from our APDU) and wire (its own HDLC) decoders."""
    try:
        from importlib.metadata import version

        from dlms_cosem import a_xdr
        from dlms_cosem.hdlc.frames import UnnumberedInformationFrame
        from dlms_cosem.protocol.xdlms import (
            DataNotification,
            GeneralGlobalCipher,
        )
        from dlms_cosem.security import decrypt
    except ImportError:
        return None
    conf = a_xdr.EncodingConf(attributes=[a_xdr.Sequence(attribute_name="data")])

    def plain(apdu: bytes) -> int:
        body = DataNotification.from_bytes(apdu).body
        out: Any = a_xdr.AXdrDecoder(encoding_conf=conf).decode(body)
        return len(out["data"])

    def deciphered(apdu: bytes) -> int:
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

    def ciphered(frame: bytes) -> int:
        return deciphered(strip_llc(parse_hdlc(frame).information))

    def wire(frame: bytes) -> int:
        return deciphered(strip_llc(UnnumberedInformationFrame.from_bytes(frame).information))

    return plain, ciphered, wire, version("dlms-cosem")


def _rates(
    funcs: dict[str, Callable[[bytes], int]], frames: list[bytes], seconds: float
) -> dict[str, float]:
    """Frames per CPU second of each function: alternating rounds, the best round of each."""
    best = dict.fromkeys(funcs, 0.0)
    per_round = max(len(frames), 50)
    deadline = time.perf_counter() + seconds * len(funcs)
    while True:
        for name, func in funcs.items():
            start = time.process_time()
            done = 0
            while done < per_round:
                for frame in frames:
                    func(frame)
                done += len(frames)
            elapsed = time.process_time() - start
            if elapsed > 0:
                best[name] = max(best[name], done / elapsed)
        if time.perf_counter() >= deadline:
            return best


def _accepted(func: Callable[[bytes], int], frames: list[bytes]) -> list[bytes]:
    ok = []
    for frame in frames:
        try:
            func(frame)
        except Exception:  # noqa: S112 - a baseline that rejects a frame is left out
            continue
        ok.append(frame)
    return ok


def measure(*, quick: bool) -> Figures:
    """Measure both decoders on both sets, print frames/s and ratios, and return them."""
    seconds = 0.5 if quick else 3.0
    plain, ciphered = _plain_corpus(), _ciphered(200)
    figures = named("corpus", plain_frames=len(plain), ciphered_frames=len(ciphered))
    peer = _cosem()
    if peer is None:
        ours = _rates({"plain": _ours_plain}, plain, seconds)
        ours |= _rates({"ciphered": _ours_ciphered}, ciphered, seconds)
        print(f"omdp plain pushes ({len(plain)} corpus APDUs): {ours['plain']:,.0f} frames/s")
        print(f"omdp ciphered HDLC pushes (AES-GCM, 200):       {ours['ciphered']:,.0f} frames/s")
        print("dlms-cosem not installed (pip install dlms-cosem): no baseline")
        return (
            figures
            | named(
                "omdp",
                plain_frames_per_s=round(ours["plain"]),
                ciphered_frames_per_s=round(ours["ciphered"]),
            )
            | named("dlms_cosem", status="not installed")
        )
    cosem_plain, cosem_ciphered, cosem_wire, cosem_version = peer
    both = _accepted(cosem_plain, plain)
    all_plain = _rates({"omdp": _ours_plain}, plain, seconds)["omdp"]
    p = _rates({"omdp": _ours_plain, "cosem": cosem_plain}, both, seconds)
    c = _rates(
        {"omdp": _ours_ciphered, "cosem": cosem_ciphered, "cosem_wire": cosem_wire},
        ciphered,
        seconds,
    )
    print(f"omdp plain pushes ({len(plain)} corpus APDUs): {all_plain:,.0f} frames/s")
    print(f"dlms-cosem {cosem_version} rejects {len(plain) - len(both)} of {len(plain)} plain "
          "corpus pushes")  # fmt: skip
    print(f"  plain, {len(both)} both decode:  omdp {p['omdp']:9,.0f}/s  "
          f"dlms-cosem {p['cosem']:9,.0f}/s  ratio {p['omdp'] / p['cosem']:.2f}x")  # fmt: skip
    print(f"  ciphered HDLC, 200:       omdp {c['omdp']:9,.0f}/s  "
          f"dlms-cosem {c['cosem']:9,.0f}/s  ratio {c['omdp'] / c['cosem']:.2f}x "
          "(dlms-cosem given our HDLC parse)")  # fmt: skip
    print(f"  ciphered HDLC, 200:       omdp {c['omdp']:9,.0f}/s  "
          f"dlms-cosem {c['cosem_wire']:9,.0f}/s  ratio {c['omdp'] / c['cosem_wire']:.2f}x "
          "(dlms-cosem with its own HDLC frame parser)")  # fmt: skip
    return (
        figures
        | named(
            "omdp",
            plain_frames_per_s=round(all_plain),
            ciphered_frames_per_s=round(c["omdp"]),
            both_plain_frames_per_s=round(p["omdp"]),
            ratio_plain=round(p["omdp"] / p["cosem"], 2),
            ratio_ciphered=round(c["omdp"] / c["cosem"], 2),
            ratio_ciphered_wire=round(c["omdp"] / c["cosem_wire"], 2),
        )
        | named(
            "dlms_cosem",
            version=cosem_version,
            rejects=len(plain) - len(both),
            both_plain_frames_per_s=round(p["cosem"]),
            ciphered_frames_per_s=round(c["cosem"]),
            ciphered_wire_frames_per_s=round(c["cosem_wire"]),
        )
    )
