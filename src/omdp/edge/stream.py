"""Fan-out of live events (readings, alerts) to Server-Sent-Events clients (APP-1, APP-4).

Each client has its own bounded queue. A client too slow to keep up loses events (counted), never
the edge's forwarding: the stream is a view, the outbox is the record.

Each client also has its own filter, asked for every event with the meter the event is about
(CL-6, APP-5): a household's stream never receives another household's readings or alerts. The
filter is asked at publish time, so that a meter moved to another household follows at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import orjson

Event = tuple[str, bytes] | None
"""An SSE event name and its JSON data; None ends the stream."""

Accept = Callable[[str], bool]
"""Whether a subscriber may receive an event about this meter."""


def _everything(_meter_id: str) -> bool:
    return True


def sse_frame(event: str, data: bytes) -> bytes:
    """One event in ``text/event-stream`` framing."""
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


class Broadcaster:
    """Delivers every event to every subscriber's bounded queue."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._queues: dict[asyncio.Queue[Event], Accept] = {}
        self.dropped = 0
        self.closed = False

    @property
    def subscribers(self) -> int:
        """How many clients listen now."""
        return len(self._queues)

    def publish(self, event: str, doc: dict[str, Any], meter_id: str) -> None:
        """Send ``doc``, an event about ``meter_id``, as JSON to every subscriber that accepts
        that meter (dropped for those whose queue is full)."""
        if not self._queues:
            return
        item: Event = None
        for queue, accept in list(self._queues.items()):
            if not accept(meter_id):
                continue
            if item is None:
                item = (event, orjson.dumps(doc))
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                self.dropped += 1

    @contextlib.contextmanager
    def subscribe(self, accept: Accept = _everything) -> Iterator[asyncio.Queue[Event]]:
        """A queue receiving, from now on, the events about meters that ``accept`` lets
        through; removed on exit."""
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=self.queue_size)
        if self.closed:
            queue.put_nowait(None)
        self._queues[queue] = accept
        try:
            yield queue
        finally:
            self._queues.pop(queue, None)

    def close(self) -> None:
        """End every stream (the service stops)."""
        self.closed = True
        for queue in self._queues:
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)

    async def frames(
        self, accept: Accept = _everything, *, keepalive: float = 15.0
    ) -> AsyncIterator[bytes]:
        """SSE frames for one client (the events ``accept`` lets through), with a comment line
        as keepalive."""
        with self.subscribe(accept) as queue:
            yield b": connected\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), keepalive)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if item is None:
                    return
                yield sse_frame(*item)
