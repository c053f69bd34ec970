"""The outbox on SQLite: WAL journal, ``synchronous=FULL``, one writer thread, batched commits.

Why these choices:

- ``synchronous=FULL`` in WAL mode fsyncs the log at every commit, so a batch acknowledged
  upstream survives a power cut, not only a crash of the process.
- One transaction per batch (thousands of messages) amortises that fsync: the cost per message
  stays in microseconds.
- Every statement runs on one dedicated thread (a single-worker executor), so that the asyncio
  loop never blocks on the disk and the connection is never shared between threads.
- ``AUTOINCREMENT`` ids never go back, even after the newest rows were deleted: id order is
  arrival order across restarts.
- One process at a time: :meth:`SqliteOutbox.open` takes an exclusive ``flock`` on
  ``<outbox>.lock`` (holding the owner's pid) and refuses, naming that pid, when another process
  holds it. Two forwarders on one outbox would each send, and delete, the other's messages.
- A small ``state`` table keeps what the owner must remember across restarts (an adapter's
  last sequence number), written in the same transaction as the messages it belongs to.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from omdp.delivery.outbox import Entry
from omdp.errors import StorageError
from omdp.security.files import private_file

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    received REAL NOT NULL
)
"""
_STATE = "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def lock_path(path: Path) -> Path:
    """The lock file of the outbox at ``path``."""
    return path.with_name(path.name + ".lock")


def _lock(path: Path) -> int:
    """Take the exclusive lock of the outbox at ``path``; return the lock file's descriptor.

    Raises:
        StorageError: another process holds it (the message names its pid), or the lock file
            cannot be made.
    """
    where = lock_path(path)
    try:
        fd = os.open(where, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        msg = f"cannot create the lock file {where} of the outbox {path}: {exc}"
        raise StorageError(msg) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        msg = (
            f"the outbox {path} is in use by another process (pid {holder}): every adapter and "
            "every edge needs an outbox of its own"
        )
        raise StorageError(msg) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def id_ranges(ids: Sequence[int]) -> list[tuple[int, int]]:
    """Collapse ids into inclusive runs: ``[1, 2, 3, 7]`` -> ``[(1, 3), (7, 7)]``."""
    runs: list[tuple[int, int]] = []
    for value in sorted(set(ids)):
        if runs and runs[-1][1] == value - 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


class SqliteOutbox:
    """An :class:`~omdp.delivery.outbox.Outbox` in one SQLite file; open with :meth:`open`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._conn: sqlite3.Connection | None = None
        self._depth = 0
        self._bytes = 0
        self._oldest: float | None = None
        self._lock_fd: int | None = None

    @classmethod
    async def open(cls, path: Path) -> SqliteOutbox:
        """Open (creating if needed) the outbox at ``path``.

        Raises:
            StorageError: the file cannot be opened or is not an outbox, or another process
                has it open.
        """
        outbox = cls(path)
        try:
            await outbox._run(outbox._open)
        except BaseException:
            outbox._unlock()
            outbox._executor.shutdown(wait=True)
            raise
        return outbox

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    async def _run(self, func: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, func, *args)

    def _open(self) -> None:
        try:
            private_file(self.path)  # household data: 0600 in a 0700 folder, and so its WAL
        except OSError as exc:
            msg = f"cannot open the outbox {self.path}: {exc}"
            raise StorageError(msg) from exc
        self._lock_fd = _lock(self.path)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            msg = f"cannot open the outbox {self.path}: {exc}"
            raise StorageError(msg) from exc
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(_SCHEMA)
            conn.execute(_STATE)
            row = conn.execute(
                "SELECT count(*), coalesce(sum(length(payload)), 0) FROM outbox"
            ).fetchone()
        except sqlite3.Error as exc:
            conn.close()
            msg = f"the outbox {self.path} is unusable: {exc}"
            raise StorageError(msg) from exc
        self._conn = conn
        self._depth = int(row[0])
        self._bytes = int(row[1])
        self._oldest = self._oldest_of(conn)

    @staticmethod
    def _oldest_of(conn: sqlite3.Connection) -> float | None:
        row = conn.execute("SELECT received FROM outbox ORDER BY id LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            msg = f"the outbox {self.path} is closed"
            raise StorageError(msg)
        return self._conn

    # -- work on the outbox thread -------------------------------------------------------------

    def _append(
        self, items: Sequence[tuple[str, bytes]], state: Mapping[str, str] | None = None
    ) -> int:
        conn = self._connection()
        now = time.time()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO outbox (topic, payload, received) VALUES (?, ?, ?)",
                [(topic, payload, now) for topic, payload in items],
            )
            if state:
                conn.executemany(
                    "INSERT INTO state (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    list(state.items()),
                )
            last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            msg = f"cannot store {len(items)} message(s) in the outbox {self.path}: {exc}"
            raise StorageError(msg) from exc
        self._depth += len(items)
        self._bytes += sum(len(payload) for _topic, payload in items)
        if self._oldest is None:
            self._oldest = now
        return int(last)

    def _read_after(self, after_id: int, limit: int) -> list[Entry]:
        conn = self._connection()
        try:
            rows = conn.execute(
                "SELECT id, topic, payload, received FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        except sqlite3.Error as exc:
            msg = f"cannot read the outbox {self.path}: {exc}"
            raise StorageError(msg) from exc
        return [Entry(int(i), str(t), bytes(p), float(r)) for i, t, p, r in rows]

    def _delete(self, ids: Sequence[int]) -> int:
        conn = self._connection()
        before = conn.total_changes
        ranges = id_ranges(ids)
        freed = 0
        try:
            conn.execute("BEGIN IMMEDIATE")
            for first, last in ranges:
                freed += conn.execute(
                    "SELECT coalesce(sum(length(payload)), 0) FROM outbox WHERE id BETWEEN ? AND ?",
                    (first, last),
                ).fetchone()[0]
            conn.executemany("DELETE FROM outbox WHERE id BETWEEN ? AND ?", ranges)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            msg = f"cannot delete {len(ids)} message(s) from the outbox {self.path}: {exc}"
            raise StorageError(msg) from exc
        removed = conn.total_changes - before
        self._depth -= removed
        self._bytes = max(self._bytes - int(freed), 0) if self._depth else 0
        self._oldest = self._oldest_of(conn) if self._depth else None
        return removed

    def _state(self) -> dict[str, str]:
        conn = self._connection()
        try:
            rows = conn.execute("SELECT key, value FROM state").fetchall()
        except sqlite3.Error as exc:
            msg = f"cannot read the state of the outbox {self.path}: {exc}"
            raise StorageError(msg) from exc
        return {str(k): str(v) for k, v in rows}

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._unlock()

    # -- the port ------------------------------------------------------------------------------

    async def append(
        self, items: Sequence[tuple[str, bytes]], *, state: Mapping[str, str] | None = None
    ) -> int:
        """Store ``(topic, payload)`` pairs in one fsync'd transaction; return the last id.

        ``state`` entries are written in the same transaction (see :meth:`state`).

        Raises:
            StorageError: nothing of the batch was stored.
        """
        if not items:
            return 0
        return await self._run(self._append, items, state)

    async def state(self) -> dict[str, str]:
        """What the owner stored with :meth:`append`'s ``state``, by key."""
        return await self._run(self._state)

    async def read_after(self, after_id: int, limit: int) -> list[Entry]:
        """Up to ``limit`` entries with an id above ``after_id``, in id order."""
        return await self._run(self._read_after, after_id, limit)

    async def delete(self, ids: Sequence[int]) -> int:
        """Remove these entries (by runs of consecutive ids) in one transaction."""
        if not ids:
            return 0
        return await self._run(self._delete, ids)

    def bytes_held(self) -> int:
        """How many payload bytes the outbox holds now."""
        return self._bytes

    def depth(self) -> int:
        """How many messages the outbox holds now."""
        return self._depth

    def oldest_received(self) -> float | None:
        """Unix time of the oldest message held, or None when empty."""
        return self._oldest

    async def close(self) -> None:
        """Close the connection and stop the outbox thread."""
        try:
            await self._run(self._close)
        finally:
            self._executor.shutdown(wait=True)
