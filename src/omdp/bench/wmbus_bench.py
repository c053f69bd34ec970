"""``omdp bench wmbus``: wireless M-Bus telegrams decoded (and decrypted) per second.

The frames are the simulator's water, heat and gas meters (3 to 8 records each). Each telegram
is measured four ways: in the clear, encrypted with OMS security mode 5 (AES-CBC), with mode 7
(KDF + CMAC + AES-CBC, the most work per telegram), and in the clear with the link-layer CRCs
of frame format A checked and removed. The baseline, measured in the same run, is the wired
decoder on comparable frames: the same records in a wired long frame (CI 0x72).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from omdp.bench.suite import Figures, named
from omdp.decoders.mbus import decode as decode_wired
from omdp.decoders.mbus.encode import encode, make_frame
from omdp.decoders.mbus.header import Header, manufacturer_code
from omdp.decoders.wmbus import FormatStore
from omdp.decoders.wmbus import decode as decode_radio
from omdp.decoders.wmbus.encode import encode_telegram
from omdp.simulators.wmbus_meters import radio_meters

T0 = 1_717_243_200.0


def _rate(fn: Callable[[], int], seconds: float) -> tuple[float, float]:
    """Return the best (calls/s, records/s) of ``fn`` in three runs of ``seconds / 3`` each.

    The best of three, after a warm-up call, because the machine is shared: a run that another
    process slowed down says nothing about the decoder.
    """
    fn()
    return max(_run(fn, seconds / 3) for _ in range(3))


def _run(fn: Callable[[], int], seconds: float) -> tuple[float, float]:
    calls = records = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            records += fn()
        calls += 50
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start), records / (now - start)


def measure(*, quick: bool) -> Figures:
    """Measure and print telegrams/s of each variant beside the wired decoder."""
    seconds = 0.6 if quick else 3.0
    meters = radio_meters(["water", "heat", "gas"], origin=T0 - 86_400)
    store = FormatStore()
    wired: list[bytes] = []
    variants: dict[str, list[tuple[bytes, bytes | None]]] = {
        "clear": [],
        "mode 5": [],
        "mode 7": [],
        "format A": [],
    }
    for n, m in enumerate(meters):
        records = tuple(m.records_at(T0))
        ident = m.identity
        header = Header(
            ident.id, manufacturer_code(ident.manufacturer), ident.version,
            ident.device_type, n, 0, 0,
        )  # fmt: skip
        wired.append(encode(make_frame(0x72, records, header=header)))
        key = m.key
        variants["clear"].append((encode_telegram(ident, records, access_number=n), None))
        variants["mode 5"].append((encode_telegram(ident, records, access_number=n, key=key), key))
        variants["mode 7"].append(
            (encode_telegram(ident, records, access_number=n, key=key, mode=7, counter=n), key)
        )
        variants["format A"].append(
            (encode_telegram(ident, records, access_number=n, frame_format="A"), None)
        )
    n_records = sum(len(m.records_at(T0)) for m in meters)
    print(f"frames: {len(meters)} meters (water, heat, gas), {n_records} records in all")

    def wired_all() -> int:
        return sum(len(decode_wired(f).records) for f in wired)

    w_fps, w_rps = _rate(wired_all, seconds)
    w_fps *= len(wired)
    print(f"wired M-Bus, same records (CI 72): {w_fps:,.0f} frames/s, {w_rps:,.0f} records/s")
    figures = named("wired", frames_per_s=round(w_fps), records_per_s=round(w_rps))
    for name, frames in variants.items():

        def radio_all(frames: list[tuple[bytes, bytes | None]] = frames) -> int:
            return sum(len(decode_radio(t, key=k, formats=store).records) for t, k in frames)

        fps, rps = _rate(radio_all, seconds)
        fps *= len(frames)
        ratio = fps / w_fps
        print(
            f"wM-Bus {name}: {fps:,.0f} telegrams/s, {rps:,.0f} records/s, "
            f"{ratio:.2f} x the wired decoder"
        )
        figures |= named(
            name.lower().replace(" ", "_"),
            telegrams_per_s=round(fps),
            records_per_s=round(rps),
            ratio_to_wired=round(ratio, 2),
        )
    return figures
