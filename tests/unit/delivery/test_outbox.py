"""The SQLite outbox: ordered, durable batches, deletion by id runs (CO-2)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from omdp.delivery.sqlite_outbox import SqliteOutbox, id_ranges


def test_id_ranges() -> None:
    """Acked ids collapse into runs, so a batch is deleted with a few range statements."""
    assert id_ranges([7, 1, 2, 3, 3, 9, 8]) == [(1, 3), (7, 9)]
    assert id_ranges([]) == []


def test_append_read_delete_and_reopen(tmp_path: Path) -> None:
    """CO-2: bytes come back unchanged, in id order; ids never go back after a reopen."""
    path = tmp_path / "outbox.sqlite3"
    payloads = [bytes([i % 256]) * (i + 1) for i in range(500)]

    async def main() -> None:
        outbox = await SqliteOutbox.open(path)
        try:
            last = await outbox.append(
                [(f"smartMeterMessage/m{i % 3}/readings", p) for i, p in enumerate(payloads)]
            )
            assert last == 500
            assert outbox.depth() == 500
            assert outbox.oldest_received() is not None
            entries = await outbox.read_after(0, 1000)
            assert [e.payload for e in entries] == payloads
            assert [e.id for e in entries] == list(range(1, 501))
            assert await outbox.delete([e.id for e in entries[:400]]) == 400
            assert outbox.depth() == 100
        finally:
            await outbox.close()
        again = await SqliteOutbox.open(path)
        try:
            assert again.depth() == 100
            rest = await again.read_after(0, 1000)
            assert rest[0].id == 401
            assert await again.append([("smartMeterMessage/m/readings", b"x")]) == 501
            assert await again.delete([e.id for e in rest]) == 100
            assert again.oldest_received() is not None
        finally:
            await again.close()

    asyncio.run(main())
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
