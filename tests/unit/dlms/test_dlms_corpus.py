"""DLMS/COSEM public telegrams decode to the values their sources state (DM-*, AD-1).

Every ``tests/frames/dlms/*.hex`` has a ``.json`` beside it with the source, licence, key and the
values stated. Values are compared by OBIS C.D.E (Kamstrup pushes channel B=1), numbers exactly
as printed (to 1e-9), the meter id and the meter's wall-clock time where stated.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from omdp.adapter.sources.dlms import dlms_hints
from omdp.decoders.dlms import DlmsKeys, decode_capture

FRAMES = Path(__file__).resolve().parents[2] / "frames" / "dlms"
CASES = sorted(p.stem for p in FRAMES.glob("*.json"))


def load(name: str) -> tuple[bytes, dict[str, Any]]:
    raw = bytes.fromhex("".join((FRAMES / f"{name}.hex").read_text().split()))
    return raw, json.loads((FRAMES / f"{name}.json").read_text())


def keys_of(doc: dict[str, Any]) -> DlmsKeys | None:
    return DlmsKeys.from_hex(doc["key"], doc.get("authKey")) if doc.get("key") else None


def test_corpus_covers_six_models_three_countries() -> None:
    docs = [load(n)[1] for n in CASES]
    assert len({d["model"] for d in docs}) >= 6
    assert len({d["country"] for d in docs}) >= 3
    assert all(d["licence"] and d["source"] for d in docs)


@pytest.mark.parametrize("name", CASES)
def test_dlms_corpus_values_as_stated(name: str) -> None:
    """DM: each public push gives every value its source states, encrypted ones with their key."""
    raw, doc = load(name)
    result = decode_capture(raw, keys=keys_of(doc), hints=dlms_hints(doc["profile"]))
    assert result.problems == []
    assert len(result.pushes) == 1
    telegram = result.pushes[0].telegram
    got = {f"{v.obis.c}.{v.obis.d}.{v.obis.e}": v.value for v in telegram.values}
    for code, want in doc["values"].items():
        short = code.split(":")[1]
        assert short in got, f"{name}: {code} missing"
        assert float(got[short]) == pytest.approx(want, abs=1e-9), f"{name}: {code}"
    if doc.get("meterId"):
        assert telegram.meter_id == doc["meterId"]
    if doc.get("timestamp"):
        want_time = datetime.fromisoformat(doc["timestamp"])
        assert telegram.timestamp is not None
        assert telegram.timestamp.replace(tzinfo=None) == want_time.replace(tzinfo=None)
        if want_time.tzinfo is not None:
            assert telegram.timestamp.utcoffset() == want_time.utcoffset()
