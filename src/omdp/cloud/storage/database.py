"""The connection a store's roles share, and the unit of work that holds one transaction.

A store is composed of role objects (registry, tariffs, schema, aggregates, retention), each a
:class:`SqlRole` around one :class:`Database`: the engine's connection (a SQLite file, a
PostgreSQL pool) and its :class:`~omdp.cloud.storage.sqlbase.Dialect`. The SQL of a role is
written once; the database supplies what differs between engines.

A :class:`TxScope` is a database whose transactions are savepoints inside one open transaction:
roles built on it run their calls in that transaction, so that a use case made of several
calls commits or rolls back as a whole (:class:`UnitOfWork`).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from omdp.cloud.storage.dialect import Dialect, Tx

R = TypeVar("R")


class Database(Protocol):
    """An engine's connection as the roles see it."""

    @property
    def dialect(self) -> Dialect:
        """The SQL differences of the engine."""
        ...

    def tx(self) -> contextlib.AbstractContextManager[Tx]:
        """A transaction: commits when the block ends, rolls back when it raises."""
        ...

    def lock_schema(self, tx: Tx) -> None:
        """Serialise concurrent migrators (PostgreSQL: an advisory lock; SQLite: nothing,
        its write transaction is exclusive already)."""
        ...


class SqlRole:
    """A role of the store over a shared :class:`Database` (composition, not a mixin)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def dialect(self) -> Dialect:
        """The engine's SQL differences."""
        return self.db.dialect

    def _tx(self) -> contextlib.AbstractContextManager[Tx]:
        return self.db.tx()


class TxScope:
    """A :class:`Database` inside one open transaction: each ``tx()`` is a savepoint of it.

    A role call that fails rolls back to its savepoint only (as it would roll back its own
    transaction); the enclosing transaction commits or rolls back everything at the end.
    """

    _names = itertools.count(1)

    def __init__(self, outer: Database, tx: Tx) -> None:
        self.outer = outer
        self.open = tx

    @property
    def dialect(self) -> Dialect:
        """The engine's SQL differences."""
        return self.outer.dialect

    @contextlib.contextmanager
    def tx(self) -> Iterator[Tx]:
        """A savepoint in the open transaction."""
        name = f"sp{next(self._names)}"
        self.open.run(f"SAVEPOINT {name}")
        try:
            yield self.open
        except BaseException:
            self.open.run(f"ROLLBACK TO SAVEPOINT {name}")
            self.open.run(f"RELEASE SAVEPOINT {name}")
            raise
        self.open.run(f"RELEASE SAVEPOINT {name}")

    def lock_schema(self, tx: Tx) -> None:
        """As the outer database."""
        self.outer.lock_schema(tx)


@contextlib.contextmanager
def unit_of_work(db: Database, roles: Callable[[Database], R]) -> Iterator[R]:
    """One transaction around several role calls: ``roles(scope)`` builds the roles on it.

    The block's calls commit together when it ends and roll back together when it raises.
    """
    with db.tx() as tx:
        yield roles(TxScope(db, tx))


def scalar(tx: Tx, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first column of the first row ``sql`` selects, or None when it selects none."""
    row = tx.one(sql, params)
    return None if row is None else row[0]
