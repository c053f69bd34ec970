"""Every declarative driver decodes its own test telegrams to its own expected values (AD-2)."""

from __future__ import annotations

from typing import Any

import pytest

from omdp.decoders.wmbus import decode, parse_key
from omdp.decoders.wmbus.drivers import drivers, load_driver

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


def test_a_malformed_driver_is_refused() -> None:
    with pytest.raises(ValueError, match="needs name, detect and fields"):
        load_driver("name: x\nfields: []\n")
    with pytest.raises(ValueError, match="unknown key"):
        load_driver("name: x\ndetect: [{manufacturer: ABC}]\nfields: [{name: a, storage: 1}]\n")
    with pytest.raises(ValueError, match="from must be one of"):
        load_driver(
            "name: x\ndetect: [{manufacturer: ABC}]\nfields: [{name: a, quantity: b, from: x}]\n"
        )
