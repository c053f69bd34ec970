"""Fuzzing: random and mutated frames may only ever raise the codec's own error (AD-1)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omdp.decoders.mbus import FrameSplitter, MBusDecodeError, decode, split_frames
from omdp.decoders.mbus.link import checksum

FRAMES = Path(__file__).resolve().parents[2] / "frames" / "mbus" / "libmbus" / "test-frames"
CORPUS = [bytes.fromhex(p.read_text()) for p in sorted(FRAMES.glob("*.hex"))]
FUZZ = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def try_decode(raw: bytes) -> None:
    """Decode; only MBusDecodeError may escape."""
    error: MBusDecodeError | None = None
    try:
        decode(raw)
    except MBusDecodeError as exc:
        error = exc
    if error is not None:
        assert error.reason
        assert error.offset is None or 0 <= error.offset <= len(raw)


def refit(body: bytes) -> bytes:
    """Wrap C/A/CI/data in a long frame with a correct L field and checksum."""
    body = body[:255]
    return bytes((0x68, len(body), len(body), 0x68)) + body + bytes((checksum(body), 0x16))


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(raw: bytes) -> None:
    """AD-1: random bytes are decoded or rejected with MBusDecodeError, nothing else."""
    try_decode(raw)


@FUZZ
@given(st.binary(max_size=260))
def test_random_bodies_in_valid_framing(body: bytes) -> None:
    """AD-1: random application data behind a valid link layer; CI drawn from the data."""
    try_decode(refit(bytes((0x08, 0x01)) + body))


@FUZZ
@given(
    frame=st.sampled_from(CORPUS),
    edits=st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.integers(0, 300),
    fix=st.booleans(),
)
def test_mutated_corpus_frames(
    frame: bytes, edits: list[tuple[int, int]], cut: int, fix: bool
) -> None:
    """AD-1: corpus frames with bytes changed, cut short, with or without a refitted checksum."""
    body = bytearray(frame[4:-2])
    for pos, value in edits:
        if body:
            body[pos % len(body)] = value
    body = body[: max(3, cut)]
    try_decode(refit(bytes(body)) if fix else frame[:4] + bytes(body) + frame[-2:])


@FUZZ
@given(
    chunks=st.lists(st.binary(max_size=40), max_size=12),
    frames=st.lists(st.sampled_from(CORPUS), max_size=3),
)
def test_splitter_never_raises(chunks: list[bytes], frames: list[bytes]) -> None:
    """The splitter takes noise, partial and whole frames in any chunking and never raises."""
    stream = b"".join(c + f for c, f in zip(chunks, frames + [b""] * len(chunks), strict=False))
    splitter = FrameSplitter()
    found = []
    for k in range(0, len(stream), 17):
        found += splitter.feed(stream[k : k + 17])
    for f in found:
        try_decode(f)
    # the splitter may still wait on a partial frame at the end; what it gave is a prefix
    everything = [f for _, f in split_frames(stream)]
    assert everything[: len(found)] == found
    for f in frames:
        assert f in found or any(f in g for g in found) or f not in stream


def test_noise_like_a_long_header_does_not_hide_the_frame_after_it() -> None:
    """AD-1: ``68 40 40`` noise right before a frame reads as a long header (``68 40 40 68``)
    that would need 70 bytes; the whole frame inside it is found at once, not after a timeout
    (hypothesis found this)."""
    frame = next(f for f in CORPUS if f[0] == 0x68 and len(f) < 3 + 0x40 + 6)  # ends inside it
    splitter = FrameSplitter()
    assert splitter.feed(b"h@@" + frame) == [frame]
    assert splitter.skipped == 3
    assert [f for _, f in split_frames(b"h@@" + frame)] == [frame]
