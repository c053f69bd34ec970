"""DSMR telegrams of every country dsmr_parser knows: auto-detection and every line decoded.

AD-1: the adapter reads the meter's own interface reliably. For each telegram (the shared
corpus's, copied into tests/frames/dsmr, and one per country written for this project in
tests/frames/dsmr/countries), auto-detection picks the country's specification, and every value
that dsmr_parser finds with its best specification for that telegram is among ours, with the
same type, unit and time (:mod:`omdp.decoders.dsmr.reference`). Lines the chosen specification
does not list (a Luxembourg meter's reactive energy, a Dutch meter's extra register) are decoded
too.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from omdp.cli.dsmr_cmd import dsmr
from omdp.decoders.dsmr import decode_telegram, detect_spec
from omdp.decoders.dsmr.decoder import _frame, _text
from omdp.decoders.dsmr.generic import read_by_shape
from omdp.decoders.dsmr.reference import compare
from omdp.domain.obis import ObisCode

FRAMES = Path(__file__).resolve().parents[2] / "frames" / "dsmr"
COUNTRIES = FRAMES / "countries"
EXPECTED = dict(
    line.split("\t") for line in (COUNTRIES / "EXPECTED_SPECS.tsv").read_text().splitlines()
)
SHARED = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "dsmr_parser" / "telegrams"


def _text_of(path: Path) -> str:
    return path.read_bytes().decode("latin-1")


def _detected(path: Path) -> str:
    _, body, crc = _frame(_text(path.read_bytes()))
    return detect_spec(body + (crc or "")).name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ad1_auto_detection_picks_the_countrys_specification(name: str) -> None:
    """AD-1: header and object lines tell the country; a CRC on the end line tells Sweden."""
    assert _detected(COUNTRIES / name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ad1_every_value_dsmr_parser_finds_is_decoded(name: str) -> None:
    """AD-1: each value of dsmr_parser's best specification for the telegram is ours too."""
    result = compare([(name, _text_of(COUNTRIES / name))])
    assert result.total >= 15
    assert result.missed == []
    assert result.same_type == result.total


def test_ad1_the_shared_corpus_matches_dsmr_parser_entirely() -> None:
    """AD-1: the real telegrams of dsmr_parser's test suite: 100 % of its values."""
    files = sorted(FRAMES.glob("TELEGRAM_*.txt"))
    result = compare([(p.stem, _text_of(p)) for p in files])
    assert result.total > 200
    assert result.missed == []


def test_ad1_lines_the_chosen_specification_does_not_list_are_decoded() -> None:
    """AD-1 (issue 17): Luxembourg's reactive energy, limiter and breaker lines, forced or not;
    a Dutch meter's extra register; both values of the Smarty's two-value current limit."""
    lux = (COUNTRIES / "LU_SMARTY.txt").read_bytes()
    for spec in ("auto", "luxembourg", "v5"):
        telegram = decode_telegram(lux, spec=spec)
        for code, value, unit in (
            ("1-0:3.8.0", Decimal("90.125"), "kvarh"),
            ("1-0:4.8.0", Decimal("501.870"), "kvarh"),
            ("0-0:17.0.0", Decimal("27.6"), "kVA"),
            ("1-0:9.7.0", Decimal("1.240"), "kVA"),
        ):
            got = telegram.get(code)
            assert got is not None, (spec, code)
            assert (got.value, got.unit) == (value, unit)
        switch = telegram.get("0-0:96.3.10")
        assert switch is not None
        assert str(switch.value) == "1"
        limits = [v for v in telegram.values if v.obis == ObisCode.parse("1-1:31.4.0")]
        assert [(v.value, v.unit) for v in limits] == [(40, "A"), (-40, "A")]
        assert telegram.meter_id == "53414731303330373030303939393031"
    dutch = decode_telegram((COUNTRIES / "NL_V5_WATER_AND_EXTRA.txt").read_bytes())
    extra = dutch.get("1-0:3.8.0")
    assert extra is not None
    assert (extra.value, extra.unit) == (Decimal("12.500"), "kvarh")
    water = dutch.get("0-2:24.2.1")
    assert water is not None
    assert (water.value, water.unit, water.channel) == (Decimal("98.765"), "m3", 2)


def test_ad1_a_swedish_telegram_decodes_under_auto() -> None:
    """AD-1 (issue 17): a Swedish Kamstrup telegram gave 2 values under auto (25 forced)."""
    path = COUNTRIES / "SE_KAMSTRUP.txt"
    auto = decode_telegram(path.read_bytes())
    forced = decode_telegram(path.read_bytes(), spec="sweden")
    assert auto.values == forced.values
    assert len(auto.values) == 23  # every line: version, time, id, 20 values
    assert auto.meter_id == "5706567262391347"
    assert auto.timestamp is not None
    assert auto.timestamp.isoformat() == "2024-07-01T12:00:00+02:00"


def test_ad1_lines_read_by_their_shape() -> None:
    """AD-1: profile generic buffers, maximum-demand histories, capture time and value, DSMR
    2.2's gas reading, several values, texts with leading zeros: each a value."""
    tz = ZoneInfo("Europe/Amsterdam")
    code = ObisCode.parse("1-0:99.97.0")
    buffer = read_by_shape(
        code, ("2", "0-0:96.7.19", "230101160000W", "0000003600*s", "221123093212W", "5*s"), tz
    )
    assert [(v.value, v.unit, v.timestamp.isoformat()) for v in buffer] == [
        (Decimal("3600"), "s", "2023-01-01T16:00:00+01:00"),
        (Decimal("5"), "s", "2022-11-23T09:32:12+01:00"),
    ]
    peaks = read_by_shape(
        ObisCode.parse("0-0:98.1.0"),
        ("1", "1-0:1.6.0", "1-0:1.6.0", "200501000000S", "200423192538S", "03.695*kW"),
        tz,
    )
    assert [(v.value, v.unit) for v in peaks] == [(Decimal("3.695"), "kW")]
    assert peaks[0].timestamp == datetime(2020, 4, 23, 19, 25, 38, tzinfo=tz)
    gas = read_by_shape(
        ObisCode.parse("0-1:24.3.0"),
        ("161107190000", "00", "60", "1", "0-1:24.2.1", "m3", "00001.001"),
        tz,
    )
    assert [(v.value, v.unit, v.channel) for v in gas] == [(Decimal("1.001"), "m3", 1)]
    mbus = read_by_shape(ObisCode.parse("0-3:24.2.1"), ("240101000000W", "00012.5*GJ"), tz)
    assert [(v.value, v.unit, v.channel) for v in mbus] == [(Decimal("12.5"), "GJ", 3)]
    text = read_by_shape(ObisCode.parse("0-0:96.14.0"), ("0002",), tz)
    assert [v.value for v in text] == ["0002"]
    with pytest.raises(ValueError, match="buffer of 3 entries"):
        read_by_shape(code, ("3", "0-0:96.7.19", "230101160000W", "1*s"), tz)


def test_ad1_dsmr_compare_prints_the_share(tmp_path: Path) -> None:
    """AD-1: ``omdp dsmr compare`` measures any telegrams against dsmr_parser."""
    files = [str(p) for p in sorted(COUNTRIES.glob("*.txt"))]
    result = CliRunner().invoke(dsmr, ["compare", *files])
    assert result.exit_code == 0, result.output
    assert "100.00 %" in result.output


def test_ad1_the_shared_corpus_folder_agrees_with_the_copy() -> None:
    """AD-1: the copy in tests/frames/dsmr is the shared corpus's, byte for byte."""
    if not SHARED.is_dir():
        pytest.skip("the shared corpus is not beside this checkout")
    for path in SHARED.glob("*.txt"):
        assert (FRAMES / path.name).read_bytes() == path.read_bytes()
