"""``omdp bench mbus``: decode the public M-Bus corpus with our codec and with pyMeterBus.

Both decoders run in the same process on the same frames: the libmbus test frames and the
pyMeterBus frames shipped in ``tests/frames/mbus`` of a source checkout.
The ratio is computed on the frames both decoders accept; frames pyMeterBus
rejects are counted and reported separately. Our decoder also reports its figure on all frames.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from omdp.bench.suite import Figures, named
from omdp.decoders.mbus import decode
from omdp.errors import DecodeError

_ROOT = Path(__file__).resolve().parents[3]


def _hex_bytes(text: str) -> bytes:
    out = bytearray()
    for token in text.split():
        if len(token) != 2:
            break
        try:
            out.append(int(token, 16))
        except ValueError:
            break
    return bytes(out)


def load_corpus() -> list[tuple[str, bytes]]:
    """Return ``(name, frame)`` for every public corpus frame that we can find."""
    candidates = [
        (
            _ROOT / "tests" / "frames" / "mbus" / "libmbus" / "test-frames",
            _ROOT / "tests" / "frames" / "mbus" / "pymeterbus" / "pymeterbus_expected.json",
        ),
    ]
    for folder, pmb in candidates:
        if folder.is_dir():
            frames = [(p.stem, _hex_bytes(p.read_text())) for p in sorted(folder.glob("*.hex"))]
            if pmb.is_file():
                doc = json.loads(pmb.read_text())
                frames += [(f["name"], _hex_bytes(f["hex"])) for f in doc["frames"] if "hex" in f]
            return frames
    return []


def _ours(frame: bytes) -> int:
    records = decode(frame).records
    for r in records:
        _ = (r.value, r.unit)
    return len(records)


def _pymeterbus() -> Callable[[bytes], int] | None:
    try:
        import meterbus
    except ImportError:
        return None

    def run(frame: bytes) -> int:
        telegram = meterbus.load(frame)
        records = telegram.records
        for r in records:
            _ = (r.parsed_value, r.unit)
        return len(records)

    return run


def _accepts(fn: Callable[[bytes], int], frame: bytes) -> bool:
    try:
        fn(frame)
    except Exception:
        return False
    return True


def _measure(
    fn: Callable[[bytes], int], frames: list[bytes], seconds: float
) -> tuple[float, float]:
    """Return (frames/s, records/s), looping over ``frames`` for about ``seconds``."""
    n_frames = n_records = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for f in frames:
            n_records += fn(f)
        n_frames += len(frames)
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - start
    return n_frames / elapsed, n_records / elapsed


def measure(*, quick: bool) -> Figures:
    """Measure both decoders, print frames/s, records/s and the ratio, and return them."""
    corpus = load_corpus()
    if not corpus:
        print("no M-Bus corpus found (tests/frames/mbus of a source checkout)")
        return named("corpus", frames=0)
    seconds = 0.5 if quick else 3.0
    ours_ok = []
    for _, frame in corpus:
        try:
            _ours(frame)
        except DecodeError:
            continue
        ours_ok.append(frame)
    print(
        f"corpus: {len(corpus)} frames; ours decodes {len(ours_ok)}, "
        f"rejects {len(corpus) - len(ours_ok)} (bad length/checksum on purpose or CI 0x70)"
    )
    fps, rps = _measure(_ours, ours_ok, seconds)
    print(f"omdp (all {len(ours_ok)} frames it decodes): {fps:,.0f} frames/s, {rps:,.0f} records/s")
    figures = named("corpus", frames=len(corpus), omdp_decodes=len(ours_ok))
    figures |= named("omdp", all_frames_per_s=round(fps), all_records_per_s=round(rps))
    peer = _pymeterbus()
    if peer is None:
        print("pyMeterBus not installed (pip install pymeterbus): no baseline")
        return figures | named("pymeterbus", status="not installed")
    both = [f for f in ours_ok if _accepts(peer, f)]
    failed = [n for n, f in corpus if f in ours_ok and f not in both]
    print(f"pyMeterBus fails on {len(failed)} of them: {', '.join(failed)}")
    print(f"ratio measured on the {len(both)} frames both decode:")
    o_fps, o_rps = _measure(_ours, both, seconds)
    p_fps, p_rps = _measure(peer, both, seconds)
    print(f"  omdp       {o_fps:12,.0f} frames/s {o_rps:12,.0f} records/s")
    print(f"  pyMeterBus {p_fps:12,.0f} frames/s {p_rps:12,.0f} records/s")
    print(f"  ratio      {o_fps / p_fps:12.1f}x (target >= 5x)")
    return (
        figures
        | named("corpus", both_decode=len(both))
        | named("omdp", frames_per_s=round(o_fps), records_per_s=round(o_rps))
        | named("pymeterbus", frames_per_s=round(p_fps), records_per_s=round(p_rps))
        | named("omdp", ratio_to_pymeterbus=round(o_fps / p_fps, 2))
    )
