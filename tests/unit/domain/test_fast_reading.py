"""The msgspec fast path never accepts what pydantic refuses, and reads what it accepts the same.

:func:`fast_values` may answer None for a valid reading (pydantic then decides), never a
reading for an invalid one (DM-1 times with offsets, DM-3 a value on every property value,
identifiers, bounds), and what it accepts must be stored exactly as the pydantic path would
store it (CL-2). Checked on hand-picked edge cases and on thousands of seeded mutations of the
benchmark's reading and the specification's examples.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from omdp.bench.validation_bench import sample_reading
from omdp.cloud.model import StoredReading
from omdp.domain.fast_reading import fast_values, live_values
from omdp.domain.validation import parse_reading
from omdp.errors import ValidationFailure

METER = "meter-1"


def _slow(payload: bytes) -> StoredReading | None:
    try:
        reading = parse_reading(payload)
    except ValidationFailure:
        return None
    if reading.meter_id is not None and reading.meter_id != METER:
        return None
    return StoredReading.from_reading(reading, meter_id=METER)


def _check(payload: bytes) -> bool:
    """Assert the promise for one payload; True when the fast path accepted it."""
    fast = fast_values(payload, METER)
    if fast is None:
        return False
    slow = _slow(payload)
    assert slow is not None, f"fast path accepted what pydantic refuses: {payload[:400]!r}"
    assert StoredReading.from_fast(fast, meter_id=METER) == slow, payload[:400]
    return True


def _base() -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(sample_reading())
    doc["meterIndividual"]["meterIndividualId"] = METER
    return doc


def test_the_common_reading_takes_the_fast_path() -> None:
    """CL-2: the adapters' usual message is decoded by msgspec, identically."""
    assert _check(orjson.dumps(_base()))


TIMES = [
    "2024-06-01T12:15:00+02:00",
    "2024-06-01T12:15:00Z",
    "2024-06-01t12:15:00z",
    "2024-06-01 12:15:00+02:00",
    "2024-06-01T12:15:00.123456789+02:00",
    "2024-06-01T12:15:00.9999999Z",
    "2024-06-01T12:15:00.5+02:00",
    "2024-06-01T12:15+02:00",
    "2024-06-01T12:15:00+0200",
    "2024-06-01T12:15:00",
    "2024-06-01T23:59:60Z",
    "2024-02-30T00:00:00Z",
    "2024-06-01T12:15:00+24:00",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "2199-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
    # the years at the edges, where the offset decides (the fast path checks years first)
    "0001-01-02T00:30:00+01:00",
    "0001-01-02T00:00:00-01:00",
    "0001-12-31T23:00:00-23:59",
    "9998-12-31T23:30:00-01:00",
    "9998-12-31T22:00:00-01:00",
    "9998-01-01T00:00:00+23:59",
    "9999-01-01T00:00:00Z",
    "2024-06-01T12:15:00,5Z",
    1717236900,
    None,
    "",
]


@pytest.mark.parametrize("when", TIMES)
def test_dm1_times_agree_with_pydantic(when: object) -> None:
    """DM-1: reading times and value dates, offsets required, years 1..9998, six digits."""
    for place in ("readingTime", "date"):
        doc = _base()
        if place == "readingTime":
            doc["readingTime"] = when
        else:
            doc["propertyValues"][3]["date"] = when
        _check(orjson.dumps(doc))


ODD_VALUES: list[object] = [
    None, True, 0, -1, 1.5, 2**63, 2**63 - 1, 1e308, -1e308, "", "x", "x\n", "5", "a" * 129,
    "a" * 300, "a" * 5000, "ü", "OBIS_1.8.0", "bad/id", "#", [], {}, ["kWh"] * 17, [""],
    "GAS", "gas", "ELECTRICITY", "a\x00b", 2**64 - 1, -0.0, 1e3, "a" * 600, "OBIS_12. Events",
]  # fmt: skip


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found: list[tuple[object, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((*prefix, key))
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((*prefix, index))
            found.extend(_paths(value, (*prefix, index)))
    return found


def _parent(doc: Any, path: tuple[object, ...]) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _mutate(doc: dict[str, Any], rng: random.Random) -> None:
    path = rng.choice(_paths(doc))
    parent, last = _parent(doc, path), path[-1]
    kind = rng.randrange(6)
    if kind == 0:
        del parent[last]
    elif kind == 1:
        parent[last] = None
    elif kind in (2, 3):
        parent[last] = copy.deepcopy(rng.choice(ODD_VALUES + TIMES))
    elif kind == 4 and isinstance(last, str):
        parent[_snake(last)] = parent.pop(last)
    elif isinstance(parent, dict):
        parent[rng.choice(["extra", "propertyName", "physicalMeter", "fault_code"])] = rng.choice(
            ODD_VALUES
        )


def _documents(shared_dir: Path) -> list[dict[str, Any]]:
    docs = [_base()]
    for example in sorted((shared_dir / "spec-data" / "examples").glob("*.json")):
        loaded = orjson.loads(example.read_bytes())
        for doc in loaded if isinstance(loaded, list) else [loaded]:
            if isinstance(doc, dict):
                if isinstance(doc.get("meterIndividual"), dict):
                    doc["meterIndividual"]["meterIndividualId"] = METER
                docs.append(doc)
    return docs


def test_dm3_seeded_mutations_never_pass_the_fast_path_wrongly(shared_dir: Path) -> None:
    """DM-1..DM-6, CL-2: 4,000 mutated readings; the fast path is never more lenient."""
    rng = random.Random(20261126)
    docs = _documents(shared_dir)
    fast = valid = 0
    for _ in range(4_000):
        doc = copy.deepcopy(rng.choice(docs))
        for _ in range(rng.randint(1, 3)):
            _mutate(doc, rng)
        payload = orjson.dumps(doc)
        valid += _slow(payload) is not None
        fast += _check(payload)
    assert valid > 400, "too few valid mutations to prove anything"
    assert fast > 200, "the fast path hardly ever answers"


def test_dm3_a_value_without_number_or_text_goes_to_pydantic() -> None:
    """DM-3: a value with neither numericalValue nor textValue is never accepted fast."""
    doc = _base()
    del doc["propertyValues"][2]["numericalValue"]
    assert fast_values(orjson.dumps(doc), METER) is None
    assert _slow(orjson.dumps(doc)) is None


def test_a_reading_of_another_meter_goes_to_pydantic() -> None:
    """CL-2: the topic's meter and the payload's must agree; the slow path says so precisely."""
    assert fast_values(orjson.dumps(_base()), "meter-2") is None


HOSTILE = [
    b"[" * 20_000 + b"]" * 20_000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
    b'{"readingTime":"2024-06-01T12:15:00Z","x":' + b'{"a":' * 5000 + b"1" + b"}" * 5001,
    b"",
    b"\xff\xfe\x00garbage",
    orjson.dumps(_base()).replace(b'"unit":"kWh"', b'"unit":"kW\xffh"', 1),
    b'{"readingTime":"2024-06-01T12:15:00Z","propertyValues":[{"unit":"\xed\xa0\x80",'
    b'"numericalValue":1,"operationalPropertyDefinition":{"propertyId":"OBIS_1.8.0"}}]}',
    b"x" * 300_000,
]


@pytest.mark.parametrize("payload", HOSTILE, ids=lambda p: f"{len(p)}-bytes")
def test_hostile_input_gets_none_never_an_exception(payload: bytes) -> None:
    """CL-2, CO-2: deeply nested or garbage bytes leave both fast paths to pydantic."""
    assert fast_values(payload, METER) is None
    assert live_values(payload) is None


def test_live_values_read_the_time_and_numbers() -> None:
    """CO-4: live data gets the reading time and every numerical value with its unit."""
    doc = _base()
    got = live_values(orjson.dumps(doc))
    assert got is not None
    when, values = got
    assert when == parse_reading(orjson.dumps(doc)).reading_time
    first = doc["propertyValues"][0]
    prop = first["operationalPropertyDefinition"]["propertyId"]
    assert values[prop] == (first["numericalValue"], first["unit"])
    first["unit"] = ""  # DM-3: an empty unit is no unit, in live data too
    got = live_values(orjson.dumps(doc))
    assert got is not None
    assert got[1][prop] == (first["numericalValue"], None)
    del doc["propertyValues"][1]["numericalValue"]  # DM-3: neither number nor text
    assert live_values(orjson.dumps(doc)) is None
