"""A wrong key, a replayed frame counter, a corrupted frame and a truncated segment sequence each
give their precise reason and never stop the stream (AD-1, DM-*)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from omdp.decoders.dlms import (
    Array,
    DlmsError,
    DlmsKeys,
    DlmsStreamDecoder,
    DlmsTruncatedError,
    Structure,
    Typed,
    axdr,
    decode_capture,
    decode_data,
    encode_data,
    encode_hdlc,
)

FRAMES = Path(__file__).resolve().parents[2] / "frames" / "dlms"


def load(name: str) -> tuple[bytes, dict[str, Any]]:
    raw = bytes.fromhex("".join((FRAMES / f"{name}.hex").read_text().split()))
    return raw, json.loads((FRAMES / f"{name}.json").read_text())


NOE_KEY = DlmsKeys.from_hex("36C66639E48A8CA4D6BC8B282A793BBB")


def test_wrong_key_unauthenticated_push_is_reported_as_wrong_key() -> None:
    raw, _doc = load("kaifa-ma309-at-netznoe-mbus")
    result = decode_capture(raw, keys=DlmsKeys.from_hex("00" * 16))
    assert len(result.problems) == 1
    assert result.problems[0].startswith("WrongKeyError")
    assert "wrong key" in result.problems[0]
    assert result.pushes == []


def test_wrong_authentication_key_fails_the_tag() -> None:
    raw, doc = load("sagemcom-t210d-r-lu-smarty")
    result = decode_capture(raw, keys=DlmsKeys.from_hex(doc["key"], "11" * 16))
    assert result.problems[0].startswith("WrongKeyError")
    assert "authentication tag" in result.problems[0]


def test_encrypted_push_without_key_says_so() -> None:
    raw, _doc = load("kaifa-ma309-at-netznoe-mbus")
    (problem,) = decode_capture(raw).problems
    assert problem.startswith("MissingKeyError")
    assert "configure the meter's key" in problem


def test_replayed_frame_counter_is_refused_and_the_stream_goes_on() -> None:
    raw, doc = load("sagemcom-t210d-r-lu-smarty")
    keys = DlmsKeys.from_hex(doc["key"], doc["authKey"])
    framed = encode_hdlc(b"\xe6\xe7\x00" + raw)
    decoder = DlmsStreamDecoder(keys=keys)
    first = decoder.feed(framed)
    assert len(first.pushes) == 1
    again = decoder.feed(framed)
    assert again.pushes == []
    assert again.problems[0].startswith("ReplayError")
    assert "frame counter 268435457" in again.problems[0]
    assert "replayed" in again.problems[0]


def test_corrupted_hdlc_frame_reports_bad_fcs_and_next_frame_decodes() -> None:
    raw, _doc = load("kaifa-ma304h3e-no-hdlc-list2")
    bad = bytearray(raw)
    bad[40] ^= 0x01
    decoder = DlmsStreamDecoder()
    out = decoder.feed(bytes(bad) + raw)
    assert len(out.problems) == 1
    assert "FCS" in out.problems[0]
    assert "corrupted frame" in out.problems[0]
    assert len(out.pushes) == 1


def test_corrupted_mbus_segment_reports_checksum() -> None:
    raw, _doc = load("kaifa-ma309-at-netznoe-mbus")
    bad = bytearray(raw)
    bad[60] ^= 0x40
    problems = decode_capture(bytes(bad), keys=NOE_KEY).problems
    assert any("checksum" in p for p in problems)


def test_truncated_segment_sequence_is_reported() -> None:
    raw, _doc = load("kaifa-ma309-at-netznoe-mbus")
    first_segment = raw[: raw[1] + 6]
    (problem,) = decode_capture(first_segment, keys=NOE_KEY).problems
    assert "truncated segment sequence" in problem
    # the first segment twice: the second starts a new push while the first lacks its end
    out = DlmsStreamDecoder(keys=NOE_KEY).feed(first_segment + raw)
    assert "segment 1 of the previous push never arrived" in out.problems[0]
    assert len(out.pushes) == 1


def test_truncated_frame_at_end_of_capture() -> None:
    raw, _doc = load("kaifa-ma304h3e-no-hdlc-list2")
    (problem,) = decode_capture(raw[:-10]).problems
    assert problem.startswith("truncated frame")


def test_every_cosem_type_round_trips() -> None:
    moment = datetime(2024, 3, 1, 12, 30, 5, tzinfo=UTC)
    value = Structure(
        [
            Typed(axdr.INTEGER, -5),
            Typed(axdr.LONG, -300),
            Typed(axdr.UNSIGNED, 200),
            Typed(axdr.LONG_UNSIGNED, 65000),
            Typed(axdr.DOUBLE_LONG, -70000),
            Typed(axdr.LONG64, -(2**40)),
            Typed(axdr.LONG64_UNSIGNED, 2**63),
            Typed(axdr.ENUM, 27),
            Typed(axdr.FLOAT64, 1.5),
            Typed(axdr.UTF8_STRING, "Zähler"),
            Typed(axdr.DATE_TIME, moment),
            Array([1, 2]),
            None,
            True,
            b"\x01\x02",
            "text",
        ]
    )
    decoded, end = decode_data(encode_data(value))
    assert end == len(encode_data(value))
    assert decoded[:9] == (-5, -300, 200, 65000, -70000, -(2**40), 2**63, 27, 1.5)
    assert decoded[9] == "Zähler"
    assert decoded[10].to_datetime() == moment
    assert decoded[11:] == (Array([1, 2]), None, True, b"\x01\x02", "text")


def test_compact_array_and_bit_string() -> None:
    # compact-array of long-unsigned: type 12, contents 3 values
    raw = bytes.fromhex("13 12 06 0001 0002 0003".replace(" ", ""))
    assert decode_data(raw)[0] == (1, 2, 3)
    assert decode_data(bytes.fromhex("040affc0"))[0].bits == "1111111111"


def test_unknown_type_and_truncation_have_offsets() -> None:
    with pytest.raises(DlmsError, match="unknown COSEM data type 0x07"):
        decode_data(b"\x07\x00")
    with pytest.raises(DlmsTruncatedError):
        decode_data(b"\x06\x00\x01")


def test_scaler_is_exact() -> None:
    raw, _doc = load("aidon-6525-no-list2")
    telegram = decode_capture(raw).pushes[0].telegram
    current = telegram.get("1-0:31.7.0")
    assert current is not None
    assert current.value == Decimal("1.3")
    assert current.unit == "A"
