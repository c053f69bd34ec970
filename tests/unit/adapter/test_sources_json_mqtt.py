"""The JSON-over-MQTT source with an in-memory client (the real broker: integration tests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from omdp.adapter.samples import MeterSample
from omdp.adapter.sources import Backoff, JsonMqttSource
from omdp.adapter.sources.json_mqtt import JsonClient, parse_time
from omdp.errors import BrokerError, DecodeError
from omdp.mqtt.client import Message
from omdp.mqtt.settings import MqttSettings


class FakeClient:
    """Delivers queued messages; records subscriptions."""

    def __init__(self, payloads: list[bytes]) -> None:
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        for mid, payload in enumerate(payloads):
            self.messages.put_nowait(Message("dev/meter", payload, 1, mid))
        self.reconnects = 0
        self.subscribed: list[str] = []

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        self.subscribed.append(topic_filter)


def factory(
    clients: list[FakeClient | Exception],
) -> Callable[[], AbstractAsyncContextManager[JsonClient]]:
    """Hands out the clients in turn; an exception stands for a refused connection."""

    @asynccontextmanager
    async def make() -> AsyncIterator[JsonClient]:
        client = clients.pop(0)
        if isinstance(client, Exception):
            raise client
        yield client

    return make


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


def source(clients: list[FakeClient | Exception], **kwargs: object) -> JsonMqttSource:
    return JsonMqttSource(
        "json",
        settings=MqttSettings(),
        topic="dev/+",
        client_factory=factory(clients),
        backoff=Backoff(initial=0, cap=0, sleep=no_sleep),
        **kwargs,  # type: ignore[arg-type]
    )


async def take(src: JsonMqttSource, n: int) -> list[MeterSample]:
    out: list[MeterSample] = []
    gen = src.samples()
    try:
        async for sample in gen:
            out.append(sample)
            if len(out) == n:
                break
    finally:
        await gen.aclose()  # type: ignore[attr-defined]
    return out


def test_documents_and_device_time() -> None:
    client = FakeClient(
        [b'{"power": 1.5, "ts": "2024-05-01T12:00:00+02:00"}', b'{"ts": 1714557600}']
    )
    src = source([client], time_path="$.ts")
    samples = asyncio.run(asyncio.wait_for(take(src, 2), 5))
    assert samples[0].document == {"power": 1.5, "ts": "2024-05-01T12:00:00+02:00"}
    assert samples[0].values == ()
    assert samples[0].meter_time == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert samples[0].meter_time.utcoffset() == timedelta(hours=2)
    assert samples[1].meter_time == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert samples[0].extra["topic"] == "dev/meter"
    assert client.subscribed == ["dev/+"]


def test_malformed_json_is_logged_counted_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    """AD-1: not JSON, a bare number or a bad timestamp: dropped with the reason, counted."""
    client = FakeClient([b'{"power": ', b"42", b'{"ts": "yesterday"}', b'{"power": 2}'])
    src = source([client], time_path="$.ts")
    with caplog.at_level(logging.WARNING):
        samples = asyncio.run(asyncio.wait_for(take(src, 1), 5))
    assert samples[0].document == {"power": 2}
    assert samples[0].meter_time is None  # no timestamp in this document
    assert src.stats.decode_errors == 3
    assert src.stats.reads == 4
    messages = [r.getMessage() for r in caplog.records if getattr(r, "meter_source", "") == "json"]
    assert any("malformed JSON on dev/meter (10 bytes)" in m for m in messages)
    assert any("is a int, not an object" in m for m in messages)
    assert any("'yesterday' is not RFC 3339" in m for m in messages)


def test_silence_is_counted_and_a_refused_broker_retried() -> None:
    """AD-1: a refused connection is retried; a silent topic is reported as a timeout."""
    quiet = FakeClient([])
    talking = FakeClient([b'{"a": 1}'])

    async def run() -> list[MeterSample]:
        src = source([BrokerError("refused"), quiet, talking], interval=0.02)
        gen = src.samples()
        task = asyncio.ensure_future(gen.__anext__())
        await asyncio.sleep(0.2)  # a few silences on the quiet client
        assert not task.done()
        assert src.stats.timeouts >= 2
        assert src.stats.last_error is not None
        assert "no message on dev/+" in src.stats.last_error
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await gen.aclose()
        return []

    asyncio.run(run())
    assert talking.subscribed == []


def test_parse_time_forms() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_time("2024-01-01T00:00:00Z", berlin) == datetime(2024, 1, 1, tzinfo=UTC)
    naive = parse_time("2024-07-01T12:00:00", berlin)
    assert naive.utcoffset() == timedelta(hours=2)
    assert parse_time(1_704_067_200_000, UTC) == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_time(1_704_067_200.5, UTC).microsecond == 500_000
    with pytest.raises(DecodeError, match="neither"):
        parse_time(True, UTC)
