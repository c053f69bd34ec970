"""SML: encoder round trip, bad CRCs, truncation and noise (AD-1), and fuzzing."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omdp.decoders.obis_values import ObisValue
from omdp.decoders.sml import SmlStreamDecoder, decode_sml, encode_sml
from omdp.domain.obis import ObisCode
from omdp.errors import ChecksumError, DecodeError

SERVER = "0a01454d480000bc614e"
VALUES = [
    ObisValue(ObisCode.parse("129-129:199.130.3"), "EMH"),
    ObisValue(ObisCode.parse("1-0:0.0.9"), SERVER),
    ObisValue(ObisCode.parse("1-0:1.8.0"), Decimal("12345678.9"), "Wh"),
    ObisValue(ObisCode.parse("1-0:2.8.0"), 7, "Wh"),
    ObisValue(ObisCode.parse("1-0:16.7.0"), Decimal("-12.34"), "W"),
]
FILE = encode_sml(VALUES, server_id=SERVER, sec_index=42)


def test_round_trip() -> None:
    (telegram,) = decode_sml(FILE)
    assert telegram.meter_id == SERVER
    assert telegram.values == tuple(VALUES)


def test_round_trip_with_escape_sequences_and_timestamp() -> None:
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    raw = encode_sml(VALUES * 4, server_id=b"\x1b" * 8, timestamp=moment)
    (telegram,) = decode_sml(raw)
    assert telegram.timestamp == moment
    assert len(telegram.values) == 20


def test_bad_file_crc() -> None:
    """AD-1: a flipped CRC byte is a ChecksumError with both values."""
    bad = FILE[:-1] + bytes([FILE[-1] ^ 0xFF])
    with pytest.raises(ChecksumError, match="file CRC"):
        decode_sml(bad)


def test_bad_message_crc() -> None:
    """AD-1: a value changed and the file CRC redone is still caught by the message CRC."""
    from omdp.decoders.sml.crc import crc16_x25

    body = FILE[:-2].replace(b"EMH\x01", b"EMX\x01", 1)
    bad = body + crc16_x25(body).to_bytes(2, "big")
    with pytest.raises(ChecksumError, match="message CRC"):
        decode_sml(bad)


def test_truncated_and_noise() -> None:
    """AD-1: truncated files and noise raise in strict mode and are counted in stream mode."""
    with pytest.raises(DecodeError, match="truncated"):
        decode_sml(FILE[:-10])
    with pytest.raises(DecodeError, match="noise"):
        decode_sml(b"junk" + FILE)
    with pytest.raises(DecodeError, match="no SML file"):
        decode_sml(b"")
    decoder = SmlStreamDecoder()
    telegrams = decoder.feed(b"junk" + FILE[:50] + FILE + FILE[:-3])
    decoder.finish()
    assert len(telegrams) == 1
    assert (decoder.skipped_bytes, decoder.truncated, decoder.files) == (4, 2, 1)


_HUGE_LIST = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from omdp.decoders.sml import encode_sml, decode_sml
from omdp.decoders.sml.crc import crc16_x25
from omdp.errors import DecodeError
body = bytes.fromhex(sys.argv[1])
# the first message's first field (after its 0x76) made a list whose length has 8 more nibbles
body = body[:9] + b"\\xff" * 8 + b"\\x7f" + body[10:]
body = body[:-2] + crc16_x25(body[:-2]).to_bytes(2, "big")
try:
    decode_sml(body, message_crc=False)
except DecodeError as exc:
    print("DecodeError", exc)
"""


def test_a_list_longer_than_the_file_is_refused_in_bounded_memory() -> None:
    """AD-1: a garbled TLV length declaring billions of list elements is a DecodeError.

    smllib allocates the declared list before reading it; unguarded, this exhausted the
    test machine's memory. The decode runs in a child limited to 1 GiB of address space.
    """
    done = subprocess.run(
        [sys.executable, "-c", _HUGE_LIST, FILE.hex()],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "DecodeError" in done.stdout
    assert "declares" in done.stdout


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random(data: bytes) -> None:
    """AD-1: random bytes: only DecodeError may escape."""
    for stream in (False, True):
        with contextlib.suppress(DecodeError):
            decode_sml(data, stream=stream)


@settings(max_examples=2000, deadline=None)
@given(st.integers(0, len(FILE) - 1), st.binary(min_size=1, max_size=6), st.booleans())
def test_fuzz_mutated(pos: int, patch: bytes, message_crc: bool) -> None:
    """AD-1: a file with bytes overwritten, file CRC redone so the parser sees the damage."""
    from omdp.decoders.sml.crc import crc16_x25

    body = (FILE[:pos] + patch + FILE[pos + len(patch) :])[: len(FILE) - 2]
    mutated = body + crc16_x25(body).to_bytes(2, "big")
    for candidate in (mutated, mutated[:pos]):
        with contextlib.suppress(DecodeError):
            decode_sml(candidate, message_crc=message_crc)
