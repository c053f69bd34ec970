"""Link layer, data types, the stream splitter and the encoder round trip (hypothesis)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from omdp.decoders.mbus import (
    DateTimeValue,
    FrameSplitter,
    MBusChecksumError,
    MBusDecodeError,
    MBusEncodeError,
    decode,
    manufacturer_code,
    split_frames,
)
from omdp.decoders.mbus.datatypes import decode_bcd, encode_bcd
from omdp.decoders.mbus.encode import (
    encode,
    make_frame,
    make_manufacturer_record,
    make_record,
    vib_for,
)
from omdp.decoders.mbus.header import Header
from omdp.decoders.mbus.json_out import frame_to_json
from omdp.decoders.mbus.tables import FB_VIF, FD_VIF, KIND_NUMBER, PRIMARY_VIF

FRAME2 = bytes.fromhex(
    "681F1F680802727856341224400107550000000313153100DA023B13018B6004371802 1816"
)


def test_link_kinds() -> None:
    """Single character, short frame, control frame and long frame."""
    assert decode(b"\xe5").kind == "ack"
    short = decode(bytes.fromhex("107B01 7C16"))
    assert (short.kind, short.control, short.address) == ("short", 0x7B, 1)
    control = decode(bytes.fromhex("6803036808017279 16".replace("79", "7B")))
    assert (control.kind, control.ci, control.records) == ("control", 0x72, ())
    assert decode(FRAME2).kind == "long"


@pytest.mark.parametrize(
    ("raw", "offset", "words"),
    [
        (FRAME2[:-2] + b"\x00\x16", len(FRAME2) - 2, "checksum"),
        (FRAME2[:-1] + b"\x17", len(FRAME2) - 1, "stop byte"),
        (FRAME2[:2] + b"\x1e" + FRAME2[3:], 2, "length fields differ"),
        (FRAME2[:-5], len(FRAME2) - 5, "truncated"),
        (FRAME2 + b"\x00", len(FRAME2), "after the stop byte"),
        (b"\x10\x5b\x01\x5b\x16", 3, "checksum"),
        (b"\x42", 0, "no frame starts"),
        (b"", 0, "empty"),
    ],
)
def test_link_errors_are_precise(raw: bytes, offset: int, words: str) -> None:
    """AD-1: garbled frames raise our DecodeError with the offset and a clear reason."""
    with pytest.raises(MBusDecodeError) as info:
        decode(raw)
    assert info.value.offset == offset
    assert words in info.value.reason


def test_checksum_error_type() -> None:
    """AD-1: a checksum mismatch is both a ChecksumError and an MBusDecodeError."""
    with pytest.raises(MBusChecksumError):
        decode(FRAME2[:-2] + bytes(((FRAME2[-2] + 1) & 0xFF, 0x16)))


def test_splitter_finds_frames_in_noise_and_pieces() -> None:
    """Frames split across reads, with noise between them, come out whole and in order."""
    stream = b"\x00\x68\x99" + FRAME2 + b"\xe5\x16\x10" + bytes.fromhex("107B017C16") + FRAME2
    splitter = FrameSplitter()
    found = []
    for k in range(0, len(stream), 7):
        found += splitter.feed(stream[k : k + 7])
    assert found == [FRAME2, b"\xe5", bytes.fromhex("107B017C16"), FRAME2]
    assert splitter.pending == 0
    assert splitter.skipped == 5
    assert [f for _, f in split_frames(stream)] == found


def test_bcd_rules() -> None:
    """Negative BCD (F top nibble) and libmbus's reading of A-F nibbles."""
    assert decode_bcd(bytes.fromhex("1800F0")) == -18
    assert decode_bcd(bytes.fromhex("44444404")) == 4444444
    assert encode_bcd(-4444444, 4) == bytes.fromhex("444444F4")


def test_cli_decode_json_and_error() -> None:
    """``omdp mbus decode`` prints JSON, and exits 1 with offset and reason on a bad frame."""
    from omdp.cli.mbus_cmd import mbus

    runner = CliRunner()
    result = runner.invoke(mbus, ["decode", FRAME2.hex(" ")])
    assert result.exit_code == 0, result.output
    assert '"manufacturer": "PAD"' in result.output
    assert '"value": 218370' in result.output
    bad = runner.invoke(mbus, ["decode", FRAME2[:-2].hex() + "0016"])
    assert bad.exit_code == 1
    assert "at byte 35: checksum" in bad.output


def test_frame_to_json_fields() -> None:
    """The JSON names the header and record fields the adapter relies on."""
    out = frame_to_json(decode(FRAME2))
    assert out["header"]["id"] == "12345678"
    assert out["header"]["medium"] == "Water"
    rec = out["records"][1]
    assert (rec["function"], rec["storageNumber"], rec["unit"]) == ("maximum", 5, "m^3/h")
    assert rec["raw"] == "DA 02 3B 13 01"


# ---- encoder round trip -------------------------------------------------------------------

NUMBER_VIBS = sorted(
    {bytes((c,)) for c, i in enumerate(PRIMARY_VIF) if i.kind == KIND_NUMBER}
    | {bytes((0xFD, c)) for c, i in enumerate(FD_VIF) if i.kind == KIND_NUMBER}
    | {bytes((0xFB, c)) for c, i in enumerate(FB_VIF) if i.kind == KIND_NUMBER}
)
INT_CODINGS = {"int8": 1, "int16": 2, "int24": 3, "int32": 4, "int48": 6, "int64": 8}
BCD_CODINGS = {"bcd2": 1, "bcd4": 2, "bcd6": 3, "bcd8": 4, "bcd12": 6}


@st.composite
def numbers(draw: st.DrawFn) -> tuple[str, int | float]:
    """A coding and a raw value it can hold."""
    kind = draw(st.sampled_from(["int", "bcd", "real"]))
    if kind == "int":
        coding = draw(st.sampled_from(sorted(INT_CODINGS)))
        bits = 8 * INT_CODINGS[coding]
        return coding, draw(st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1))
    if kind == "bcd":
        coding = draw(st.sampled_from(sorted(BCD_CODINGS)))
        digits = 2 * BCD_CODINGS[coding]
        return coding, draw(st.integers(-(10 ** (digits - 1) - 1), 10**digits - 1))
    return "real32", draw(st.floats(width=32, allow_nan=False, allow_infinity=False))


dates = st.one_of(
    st.builds(
        DateTimeValue, st.just("G"), st.integers(2000, 2127), st.integers(1, 12), st.integers(1, 31)
    ),
    st.builds(
        DateTimeValue,
        st.just("F"),
        st.integers(1981, 2099),
        st.integers(1, 12),
        st.integers(1, 31),
        st.integers(0, 23),
        st.integers(0, 59),
        summer_time=st.booleans(),
    ),
    st.builds(
        DateTimeValue,
        st.just("I"),
        st.integers(2000, 2127),
        st.integers(1, 12),
        st.integers(1, 31),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
    ),
)
DATE_CODINGS = {"G": ("int16", b"\x6c"), "F": ("int32", b"\x6d"), "I": ("int48", b"\x6d")}
placement = {
    "function": st.sampled_from(["instantaneous", "maximum", "minimum", "error"]),
    "storage": st.integers(0, (1 << 41) - 1),
    "tariff": st.integers(0, (1 << 20) - 1),
    "subunit": st.integers(0, (1 << 10) - 1),
}


@st.composite
def records(draw: st.DrawFn) -> object:
    """Any record the encoder can build: numbers, dates, texts, plain-text VIFs."""
    where = {k: draw(v) for k, v in placement.items()}
    choice = draw(st.integers(0, 3))
    if choice == 0:
        coding, raw = draw(numbers())
        vib = draw(st.sampled_from(NUMBER_VIBS))
        return make_record(vib, raw, coding=coding, **where)
    if choice == 1:
        date = draw(dates)
        coding, vib = DATE_CODINGS[date.coding]
        return make_record(vib, date, coding=coding, **where)
    if choice == 2:
        text = draw(st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=20))
        return make_record(b"\x78", text, coding="lvar", **where)
    unit = draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=5))
    coding, raw = draw(numbers())
    vib = bytes((0xFC, len(unit))) + unit.encode()[::-1] + draw(st.sampled_from([b"\x74", b"\x7d"]))
    return make_record(vib, raw, coding=coding, **where)


@settings(max_examples=500, deadline=None)
@given(
    recs=st.lists(records(), max_size=6),
    tail=st.one_of(st.none(), st.binary(max_size=8)),
    more=st.booleans(),
    ident=st.integers(0, 99999999),
    man=st.sampled_from(["PAD", "ELS", "KAM", "ABB", "LUG"]),
    address=st.integers(0, 250),
)
def test_encode_decode_round_trip(
    *, recs: list, tail: bytes | None, more: bool, ident: int, man: str, address: int
) -> None:
    """decode(encode(frame)) == frame for frames built from the codec's own tables."""
    all_records = tuple(recs)
    if tail is not None:
        all_records += (make_manufacturer_record(tail, more_records_follow=more),)
    header = Header(f"{ident:08d}", manufacturer_code(man), 1, 7, 42, 0, 0)
    frame = make_frame(0x72, all_records, header=header, address=address)
    try:
        raw = encode(frame)
    except MBusEncodeError:  # more than 255 bytes: too long for one telegram
        assert sum(len(r.raw) for r in all_records) > 255 - 15
        return
    assert decode(raw) == frame


def test_vib_for_uses_the_tables() -> None:
    """The reverse lookup finds the VIF that the decoder reads back."""
    record = make_record(vib_for("Energy", "Wh", 1000.0), 12, coding="bcd8")
    assert (record.vib, record.value, record.unit) == (b"\x06", 12000, "Wh")
    assert make_record(vib_for("Volume", "m^3", 1e-3), 12565, coding="int24").value == 12.565
