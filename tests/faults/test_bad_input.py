"""Bad input at every entrance: fuzzed meter bytes into the adapter's decoders, fuzzed MQTT
payloads and topics into the edge and the ingest (AD-1, CO-2, CL-1, CL-2, DM-1, DM-3).

No crash, no hang, nothing else lost: the valid readings interleaved with the bad ones are all
stored, and each rejection is in quarantine with its reason. The API's own fuzzing
(schemathesis, every request of the OpenAPI document) lives in ``tests/integration/api``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omdp.adapter.sources.dsmr import DsmrFrameDecoder
from omdp.adapter.sources.sml import SmlFrameDecoder
from omdp.bench.mbus_bench import load_corpus
from omdp.decoders.mbus import decode
from omdp.errors import DecodeError
from omdp.simulators.dsmr_meter import DsmrMeter
from omdp.simulators.sml_meter import SmlMeter
from tests.faults.chain import Chain, SimAdapters, reading, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
T = datetime(2024, 6, 1, 12, tzinfo=UTC).timestamp()
GOOD_DSMR = DsmrMeter().telegram_at(T)
GOOD_SML = SmlMeter().file_at(T)
MBUS = [frame for _, frame in load_corpus()]


@FUZZ
@given(noise=st.binary(max_size=3000), cut=st.integers(min_value=0, max_value=len(GOOD_DSMR)))
def test_dsmr_decoder_survives_noise(noise: bytes, cut: int) -> None:
    """AD-1: noise and a truncated telegram before a good one: no exception, reasons for what
    was dropped, and the good telegram still decoded."""
    decoder = DsmrFrameDecoder()
    first = decoder.feed(noise + GOOD_DSMR[:cut])
    assert all(isinstance(p, str) and p for p in first.problems)
    after = decoder.feed(b"\r\n" + GOOD_DSMR)
    assert len(first.samples) + len(after.samples) >= 1, (first.problems, after.problems)


@FUZZ
@given(noise=st.binary(max_size=3000), cut=st.integers(min_value=0, max_value=len(GOOD_SML)))
def test_sml_decoder_survives_noise(noise: bytes, cut: int) -> None:
    """AD-1: SML noise and a truncated file before a good one; the good one still decoded."""
    decoder = SmlFrameDecoder()
    first = decoder.feed(noise + GOOD_SML[:cut])
    assert all(isinstance(p, str) and p for p in first.problems)
    samples = list(first.samples)
    for _ in range(3):  # a decoder may wait for the next escape to close a broken file
        samples += decoder.feed(GOOD_SML).samples
    assert samples, "the good SML files after the noise are decoded"


@FUZZ
@given(
    index=st.integers(min_value=0, max_value=max(0, len(MBUS) - 1)),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=6),
    noise=st.binary(max_size=300),
)
def test_mbus_decoder_rejects_garbage_with_a_reason(
    index: int, flips: list[tuple[int, int]], noise: bytes
) -> None:
    """AD-1: corrupted M-Bus frames (corpus frames with bytes changed) and random bytes
    either decode or raise DecodeError with a message; nothing else escapes."""
    frame = bytearray(MBUS[index])
    for position, value in flips:
        frame[position % len(frame)] = value
    for candidate in (bytes(frame), noise):
        try:
            decode(candidate)
        except DecodeError as exc:
            assert str(exc)  # noqa: PT017 - every candidate, not one expected raise


def bad_messages(meter: str) -> list[tuple[str, bytes, str]]:
    """(topic suffix after the meter level, payload, what is wrong) of bad MQTT messages."""
    base = orjson.loads(reading(meter, 1)[1])

    def variant(**changes: object) -> bytes:
        doc = dict(base)
        doc["meterReadingIdentifier"] = f"bad-{meter}-{'-'.join(sorted(changes))}"
        doc.update(changes)
        return orjson.dumps(doc)

    nan = orjson.dumps(base).replace(b'"numericalValue":1000.25', b'"numericalValue":NaN')
    inf = orjson.dumps(base).replace(b'"numericalValue":1000.25', b'"numericalValue":Infinity')
    return [
        ("readings", b"x" * 300_000, "oversized (300 KB)"),
        ("readings", orjson.dumps(base)[:57], "truncated JSON"),
        ("readings", "ä€".encode("utf-16"), "not UTF-8"),
        ("readings", b"\xff\xfe\x00garbage", "binary"),
        ("readings", b"[" * 20_000 + b"]" * 20_000, "deeply nested JSON"),
        ("readings", b'{"a":' * 2000 + b"1" + b"}" * 2000, "deeply nested objects"),
        ("readings", nan, "NaN value"),
        ("readings", inf, "infinite value"),
        ("readings", variant(readingTime="9999-12-31T23:59:59+00:00"), "far-future time"),
        ("readings", variant(readingTime="1900-01-01T00:00:00+00:00"), "far-past time"),
        ("readings", variant(readingTime="2024-06-01T12:00:00"), "time without offset"),
        ("readings", variant(meterReadingIdentifier=""), "empty id"),
        ("readings", variant(propertyValues=[{"unit": "kWh"}]), "value without property"),
        ("readings", b"", "empty payload"),
        ("readings/extra/levels", orjson.dumps(base), "too many topic levels"),
    ]


def test_bad_mqtt_input_at_edge_and_ingest(make_chain: Callable[..., Chain]) -> None:
    """CO-2, CL-1, CL-2, DM-1, DM-3: bad payloads and topics, interleaved with 400 good
    readings, into the edge (local broker) and straight into the ingest (cloud broker)."""
    chain = make_chain()
    good_edge = [reading(f"e{i % 4}", i, prefix="good-edge") for i in range(200)]
    good_cloud = [reading(f"c{i % 4}", i, prefix="good-cloud") for i in range(200)]
    bad_edge = [
        (f"smartMeterMessage/e{n % 4}/{suffix}", payload, why)
        for n, (suffix, payload, why) in enumerate(bad_messages("e0"))
    ]
    bad_edge.append(("smartMeterMessage/e1/readings", reading("e2", 7)[1], "meter != topic"))
    bad_cloud = [
        (f"concentrator/x1/smartMeterMessage/c{n % 4}/{suffix}", payload, why)
        for n, (suffix, payload, why) in enumerate(bad_messages("c0"))
    ]
    bad_cloud += [
        ("concentrator/x1/readings", reading("c1", 3)[1], "not a meter topic"),
        ("concentrator/x1/smartMeterMessage/c0", reading("c0", 4)[1], "topic too short"),
    ]

    def interleave(
        good: list[tuple[str, bytes, str]], bad: list[tuple[str, bytes, str]], prefix: str
    ) -> list[tuple[str, bytes, str]]:
        out: list[tuple[str, bytes, str]] = []
        step = max(1, len(good) // (len(bad) + 1))
        for n, item in enumerate(good):
            if n % step == 0 and n // step < len(bad):
                topic, payload, _ = bad[n // step]
                out.append((topic, payload, f"{prefix}-bad-{n // step}"))
            out.append(item)
        return out

    cloud_good = [(f"concentrator/x1/{topic}", payload, rid) for topic, payload, rid in good_cloud]
    edge_pub = SimAdapters(chain.local.port, client_id="fuzz-edge")
    cloud_pub = SimAdapters(chain.cloud.port, client_id="fuzz-cloud")
    try:
        edge_pub.start(interleave(good_edge, bad_edge, "edge"), rate=300)
        cloud_pub.start(interleave(cloud_good, bad_cloud, "cloud"), rate=300)
        edge_pub.join(60)
        cloud_pub.join(60)
    finally:
        edge_pub.close()
        cloud_pub.close()
    good_ids = {r for _, _, r in good_edge + good_cloud}
    chain.wait_stored(good_ids, timeout=60)
    expected_quarantine = len(bad_edge) + len(bad_cloud)

    def quarantined() -> int:
        return int(chain.query("SELECT count(*) FROM quarantine")[0][0])

    wait_until(lambda: quarantined() >= expected_quarantine, 30, "every bad message quarantined")
    time.sleep(0.5)
    assert chain.edge.alive, "the edge survived"
    assert chain.ingest.alive, "the ingest survived"
    account = chain.account(
        "fuzzed MQTT payloads and topics into the edge and the ingest",
        good_ids,
        notes=[f"bad messages sent: {len(bad_edge)} via the edge, {len(bad_cloud)} to the ingest"],
    )
    assert account.lost == []
    assert account.quarantined == expected_quarantine
    assert sum(account.reasons.values()) == expected_quarantine
    assert all(reason.strip() for reason in account.reasons)


def _dumps(doc: object) -> bytes:
    import json

    return json.dumps(doc).encode()


@settings(max_examples=60, deadline=None, database=None)
@given(
    topic=st.text(max_size=80).filter(lambda t: "\x00" not in t),
    payload=st.one_of(
        st.binary(max_size=2000),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(st.text(max_size=8), children, max_size=4)
            ),
            max_leaves=30,
        ).map(_dumps),
    ),
)
def test_ingest_classify_never_raises(topic: str, payload: bytes) -> None:
    """CL-2: any topic and payload become a reading or a quarantine entry with reasons."""
    from omdp.cloud.ingest import classify
    from omdp.cloud.model import QuarantineEntry

    item = classify(f"concentrator/{topic}", payload, max_bytes=256 * 1024)
    if isinstance(item, QuarantineEntry):
        assert item.problems
        assert all(reason for _, reason in item.problems)
