"""DSMR: bad CRC, truncation, noise (AD-1), the stream splitter, the encoder, and fuzzing."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omdp.decoders.dsmr import TelegramSplitter, decode_telegram, encode_telegram
from omdp.decoders.obis_values import ObisValue
from omdp.domain.obis import ObisCode
from omdp.errors import ChecksumError, DecodeError

FRAMES = Path(__file__).resolve().parents[2] / "frames" / "dsmr"
V5 = (FRAMES / "TELEGRAM_V5.txt").read_bytes()


def test_bad_crc_raises_checksum_error_with_both_values() -> None:
    """AD-1: a garbled value under a valid-looking CRC is rejected, naming both CRCs."""
    garbled = V5.replace(b"000004.426", b"000004.427")
    with pytest.raises(ChecksumError) as info:
        decode_telegram(garbled)
    assert "6EEE" in str(info.value)
    assert info.value.offset is not None


def test_truncated_telegram_raises_decode_error() -> None:
    """AD-1: a telegram cut before its end line is truncated, not decoded partly."""
    with pytest.raises(DecodeError, match="truncated"):
        decode_telegram(V5[: len(V5) // 2])


def test_missing_crc_on_dsmr5_is_truncation() -> None:
    """AD-1: DSMR 5 requires the CRC; a bare '!' means the line was cut."""
    with pytest.raises(DecodeError, match="CRC"):
        decode_telegram(V5.replace(b"!6EEE", b"!"))


def test_garbage_raises_decode_error() -> None:
    """AD-1: bytes without a telegram start."""
    with pytest.raises(DecodeError, match="start"):
        decode_telegram(b"\x00\xff garbage")


def test_unknown_spec_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="known"):
        decode_telegram(V5, spec="v9")


def test_lf_only_file_still_checks_crc() -> None:
    assert decode_telegram(V5.replace(b"\r\n", b"\n")).meter_id is not None


def test_splitter_drops_noise_and_truncated_telegrams() -> None:
    splitter = TelegramSplitter()
    stream = b"noise" + V5[:100] + V5 + b"\x00\x00" + V5
    out = [t for i in range(0, len(stream), 7) for t in splitter.feed(stream[i : i + 7])]
    assert out == [V5, V5]
    assert splitter.truncated == 1
    assert splitter.dropped_bytes == 5 + 100 + 2


def test_splitter_bounds_its_buffer() -> None:
    splitter = TelegramSplitter(max_size=64)
    assert splitter.feed(b"/" + b"x" * 200) == []
    assert splitter.feed(V5) == [V5]


def test_encoder_round_trip() -> None:
    moment = datetime(2024, 7, 1, 10, 0, 5, tzinfo=UTC)
    values = [
        ObisValue(ObisCode.parse("1-0:1.8.1"), Decimal("123.456"), "kWh"),
        ObisValue(ObisCode.parse("1-0:2.7.0"), Decimal("1.250"), "kW"),
        ObisValue(ObisCode.parse("1-0:32.7.0"), Decimal("231.4"), "V"),
        ObisValue(ObisCode.parse("0-1:24.2.1"), Decimal("12.345"), "m3", moment, 1),
    ]
    raw = encode_telegram(values, timestamp=moment, meter_id="4B38")
    assert raw.startswith(b"/")
    assert raw.endswith(b"\r\n")
    telegram = decode_telegram(raw)
    assert telegram.timestamp == moment
    assert telegram.timestamp is not None
    assert telegram.timestamp.utcoffset() is not None
    assert telegram.timestamp.isoformat().endswith("+02:00")  # summer: S
    for value in values:
        got = telegram.get(value.obis)
        assert got is not None
        assert (got.value, got.unit, got.channel) == (value.value, value.unit, value.channel)


def test_encoder_without_crc_decodes_as_v3() -> None:
    raw = encode_telegram([], version=None, crc=False, meter_id="00")
    assert raw.endswith(b"!\r\n")
    assert decode_telegram(raw).meter_id == "00"


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    """AD-1: random bytes raise DecodeError or decode; nothing else escapes."""
    with contextlib.suppress(DecodeError):
        decode_telegram(data)


@settings(max_examples=1500, deadline=None)
@given(
    st.integers(0, len(V5) - 1),
    st.binary(min_size=1, max_size=8),
    st.sampled_from(["v5", "auto", "v2.2"]),
)
def test_fuzz_mutated_telegram(pos: int, patch: bytes, spec: str) -> None:
    """AD-1: a telegram with bytes overwritten or cut decodes, or raises DecodeError only."""
    mutated = V5[:pos] + patch + V5[pos + len(patch) :]
    for candidate in (mutated, mutated[:pos]):
        with contextlib.suppress(DecodeError):
            decode_telegram(candidate, spec=spec)
