"""The receipt protocol (CO-2, CL-1): digests, wire format, grouping; ingest and edge agree."""

from __future__ import annotations

import pytest

from omdp.errors import BrokerError
from omdp.receipts import (
    FORMAT,
    MAX_DIGESTS,
    decode_receipt,
    encode_receipts,
    group_digests,
    message_digest,
    receipt_entry,
    topic_key,
)
from omdp.topics import concentrator_of, receipt_topic


def test_receipt_round_trip_is_compact_and_chunked() -> None:
    """CO-2: a receipt is one format byte and 8 bytes a message; big batches are split."""
    digests = list(range(1, MAX_DIGESTS + 11))
    payloads = encode_receipts(digests)
    assert [len(p) for p in payloads] == [1 + 8 * MAX_DIGESTS, 1 + 8 * 10]
    assert all(p[0] == FORMAT for p in payloads)
    assert [d for p in payloads for d in decode_receipt(p)] == digests
    assert encode_receipts([]) == []


@pytest.mark.parametrize("payload", [b"", b"\x02" + bytes(8), b"\x01" + bytes(7), b"hello"])
def test_decode_refuses_what_is_not_a_receipt(payload: bytes) -> None:
    """CO-2: a stray message on the receipt topic is refused with a clear error, not guessed."""
    with pytest.raises(BrokerError, match="not a receipt"):
        decode_receipt(payload)


def test_digest_covers_topic_and_payload() -> None:
    """CO-2: the same payload on another meter's topic is another message."""
    payload = b'{"meterReadingIdentifier": "r1"}'
    a = message_digest(topic_key("concentrator/e1/smartMeterMessage/m1/readings"), payload)
    b = message_digest(topic_key("concentrator/e1/smartMeterMessage/m2/readings"), payload)
    c = message_digest(b"concentrator/e1/smartMeterMessage/m1/readings", payload)
    assert a != b
    assert a == c
    assert a != message_digest(topic_key("concentrator/e1/smartMeterMessage/m1/readings"), b"x")


def test_ingest_receipts_every_message_by_concentrator() -> None:
    """CL-1: the ingest receipts any message under concentrator/{id}/, parseable or not, and
    groups the digests by concentrator; the topic of each group is omdp/receipts/{id}."""
    topic = "concentrator/e1/smartMeterMessage/m1/readings"
    entries = [
        receipt_entry(topic, b"{}"),
        receipt_entry("concentrator/e2/alerts/r/m", b"\xff not json"),
        receipt_entry(topic, b"[]"),
    ]
    assert receipt_entry("elsewhere/x", b"{}") is None
    assert entries[0] == ("e1", message_digest(topic_key(topic), b"{}"))
    grouped = group_digests(e for e in entries if e is not None)
    assert list(grouped) == ["e1", "e2"]
    assert len(grouped["e1"]) == 2
    assert receipt_topic("e1") == "omdp/receipts/e1"
    assert concentrator_of("concentrator/e1/x") == "e1"
    assert concentrator_of("concentrator//x") is None
    assert not receipt_topic("e1").startswith("concentrator/")
