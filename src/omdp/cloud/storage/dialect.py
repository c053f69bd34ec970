"""The SQL engines' differences (:class:`Dialect`) and a transaction in one SQL (:class:`Tx`).

Kept apart from :mod:`omdp.cloud.storage.sqlbase` so that the modules the store is built from
(rollups, series, energy) can name these types without importing the store itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Dialect:
    """The differences between the two SQL engines that the shared SQL needs."""

    name: str
    least: str
    greatest: str

    def sql(self, text: str) -> str:
        """Placeholders in the driver's style."""
        return text

    def ts(self, value: datetime) -> Any:
        """A time as the engine stores it."""
        return value

    def dt(self, value: Any) -> datetime:
        """A stored time as an aware UTC datetime."""
        return value.astimezone(UTC)  # type: ignore[no-any-return]

    def us(self, value: Any) -> int:
        """A stored time as integer microseconds since the epoch."""
        return (value - _EPOCH) // _US  # type: ignore[no-any-return]

    def from_us(self, us: int) -> Any:
        """Integer microseconds since the epoch as the engine stores a time."""
        return _EPOCH + timedelta(microseconds=us)

    def bucket(self, column: str, width_s: int) -> str:
        """SQL of the start of the ``width_s`` bucket (UTC-aligned) that holds ``column``."""
        raise NotImplementedError

    def us_sql(self, column: str) -> str:
        """SQL of a stored time as integer microseconds since the epoch."""
        return column

    def plus(self, column: str, width_s: int) -> str:
        """SQL of ``column`` plus ``width_s`` seconds."""
        raise NotImplementedError

    def items(self, column: str) -> str:
        """SQL of a table ``j`` of the values packed in ``column``, one row each
        (:mod:`omdp.cloud.storage.packing`), for a ``FROM`` clause."""
        raise NotImplementedError

    def item(self, index: int, *, number: bool = False) -> str:
        """SQL of field ``index`` of a value of :meth:`items` (0 property, 1 number, 2 text)."""
        raise NotImplementedError


class Tx:
    """A driver cursor inside one transaction, speaking the shared SQL."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self.cursor = cursor
        self.dialect = dialect

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Execute and fetch every row (none for statements without a result)."""
        self.cursor.execute(self.dialect.sql(sql), params)
        if self.cursor.description is None:
            return []
        return list(self.cursor.fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """Execute and fetch the first row, or None."""
        rows = self.run(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute and return the first column of the first row, or None."""
        rows = self.run(sql, params)
        return rows[0][0] if rows else None

    def count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a change and return the number of rows it touched."""
        self.cursor.execute(self.dialect.sql(sql), params)
        return int(self.cursor.rowcount)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Execute once per row."""
        if rows:
            self.cursor.executemany(self.dialect.sql(sql), rows)


def in_list(values: Sequence[Any]) -> str:
    """``(?, ?, ...)`` for ``values`` (never empty: an empty list matches nothing)."""
    return "(" + ",".join("?" * len(values)) + ")" if values else "(NULL)"
