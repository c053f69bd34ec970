"""The outbox port: where adapter and edge keep every message until their sink acknowledged it.

Delivery is at-least-once. A message enters with :meth:`Outbox.append` (one durable
transaction for a whole batch: only then is it acknowledged upstream), is read in id order by
the forwarder with :meth:`Outbox.read_after`, and leaves with :meth:`Outbox.delete` once the sink
has acknowledged it. Ids grow strictly, so id order is arrival order, and so per-meter order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Entry:
    """One message kept in the outbox."""

    id: int
    topic: str
    payload: bytes
    received: float
    """Unix time at which the edge received the message."""


class Outbox(Protocol):
    """A durable, ordered store of messages waiting for their sink."""

    async def append(self, items: Sequence[tuple[str, bytes]]) -> int:
        """Store ``(topic, payload)`` pairs durably in one transaction; return the last id."""
        ...

    async def read_after(self, after_id: int, limit: int) -> list[Entry]:
        """Up to ``limit`` entries with an id above ``after_id``, in id order."""
        ...

    async def delete(self, ids: Sequence[int]) -> int:
        """Remove the entries with these ids; return how many were removed."""
        ...

    def bytes_held(self) -> int:
        """How many payload bytes the outbox holds now."""
        ...

    def depth(self) -> int:
        """How many messages the outbox holds now."""
        ...

    def oldest_received(self) -> float | None:
        """Unix time of the oldest message held, or None when empty."""
        ...

    async def close(self) -> None:
        """Release the store; pending writes are complete when this returns."""
        ...
