"""Every declarative driver decodes its own test telegrams to its own expected values (AD-2)."""

from __future__ import annotations

from typing import Any

import pytest

from omdp.decoders.wmbus import decode, parse_key
from omdp.decoders.wmbus.drivers import drivers, load_driver
from omdp.decoders.wmbus.drivers.tags import TagLayout

CASES = [(d, t) for d in drivers() for t in d.tests]


def test_every_driver_ships_a_test_telegram() -> None:
    assert drivers()
    assert all(d.tests for d in drivers())


@pytest.mark.parametrize(
    ("driver", "test"), CASES, ids=[f"{d.name}-{n}" for n, (d, _) in enumerate(CASES)]
)
def test_driver_test_telegrams_give_their_values(driver: Any, test: dict[str, Any]) -> None:
    """AD-2: a driver's named values, from its own telegram, equal the ones it declares."""
    key = parse_key(test["key"]) if test.get("key") else None
    tele = decode(bytes.fromhex(test["telegram"]), key=key)
    assert tele.driver == driver.name
    expect = dict(test["expect"])
    if "id" in expect:
        assert tele.id == expect.pop("id")
    got = {name: value[0] for name, value in tele.values.items()}
    for name, want in expect.items():
        assert got[name] == pytest.approx(want), name
    for name in test.get("absent", ()):  # an item the flags say is not there, or invalid
        assert name not in got, name


def test_a_malformed_driver_is_refused() -> None:
    with pytest.raises(ValueError, match="needs name, detect and fields"):
        load_driver("name: x\nfields: []\n")
    with pytest.raises(ValueError, match="unknown key"):
        load_driver("name: x\ndetect: [{manufacturer: ABC}]\nfields: [{name: a, storage: 1}]\n")
    with pytest.raises(ValueError, match="from must be one of"):
        load_driver(
            "name: x\ndetect: [{manufacturer: ABC}]\nfields: [{name: a, quantity: b, from: x}]\n"
        )
    with pytest.raises(ValueError, match="tag needs the driver's tags"):
        load_driver("name: x\ndetect: [{manufacturer: ABC}]\nfields: [{name: a, tag: 16}]\n")
    with pytest.raises(ValueError, match="tags: lengths must map"):
        load_driver(
            "name: x\ndetect: [{manufacturer: ABC}]\ntags: {start: 1}\nfields: [{name: a}]\n"
        )
    with pytest.raises(ValueError, match="'nope' is not a field before it"):
        load_driver("name: x\ndetect: [{manufacturer: ABC}]\nfields: [{name: a, when: nope}]\n")


def test_a_tagged_layout_walks_known_tags_and_stops_at_an_unknown_one() -> None:
    """AD-2: items in any order are found by their tag; past an unknown tag nothing is."""
    layout = TagLayout(1, {0x10: 4, 0x43: 2})
    data = bytes.fromhex("00432C011040E20100EE1001000000")
    assert layout.item(data, 0x10) == bytes.fromhex("40E20100")
    assert layout.item(data, 0x43) == bytes.fromhex("2C01")
    assert layout.item(bytes.fromhex("00EE1040E20100"), 0x10) is None  # EE: unknown, walk stops
    assert layout.item(bytes.fromhex("001040E2"), 0x10) is None  # the item is cut short


def test_the_most_specific_detection_rule_wins() -> None:
    """AD-2: an Apator 17-2 (APT, version 0x04, type 0x11, CI A0) is not read as an Apator 08,
    whose rule names only the manufacturer and the CI; other APT A0 telegrams still are."""
    a172 = decode(bytes.fromhex("1C441406783412000411A0317500000840030000000005FF05D83D0000"))
    assert a172.driver == "apator_172"
    assert a172.values["total_m3"][0] == pytest.approx(10000.3)
    a08 = decode(bytes.fromhex("18441406563412000303A0958338004C4034B31CED0106FF01"))
    assert a08.driver == "apator_08"
