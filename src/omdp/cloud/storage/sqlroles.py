"""The readings, quarantine, energy and series roles over a shared database.

Their SQL is written once in :mod:`~omdp.cloud.storage.sqlbase`, :mod:`~omdp.cloud.storage.energy`
and :mod:`~omdp.cloud.storage.series` as base classes that need a transaction (``_tx``) and a
dialect. The classes here give them those from a :class:`~omdp.cloud.storage.database.Database`,
so that each is a role object of the store (composition) rather than a base class of it.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Sequence

from omdp.cloud.model import QuarantineEntry, StoredReading, WriteResult
from omdp.cloud.storage.accumulate import Partial
from omdp.cloud.storage.database import Database
from omdp.cloud.storage.energy import EnergyMixin
from omdp.cloud.storage.series import SeriesMixin
from omdp.cloud.storage.sqlbase import Dialect, SqlStore, Tx


class SqlReadings(SqlStore):
    """Readings (query, count, get, delete) and quarantine in the shared SQL; each engine adds
    the bulk write of one batch (``write_batch``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _tx(self) -> contextlib.AbstractContextManager[Tx]:
        return self.db.tx()

    @abc.abstractmethod
    def write_batch(
        self, readings: Sequence[StoredReading], quarantine: Sequence[QuarantineEntry] = ()
    ) -> WriteResult:
        """Store new readings and quarantine entries in one commit; duplicates are skipped."""

    def recompute_dirty(self, tx: Tx) -> None:
        """Recompute the rollups marked dirty, in ``tx`` (after deletions elsewhere)."""
        self._recompute_dirty(tx)

    def replace_rollups(self, tx: Tx, parts: list[Partial]) -> None:
        """Write recomputed buckets over the stored ones, in ``tx`` (a rebuild)."""
        self._replace_rollups(tx, parts)


class SqlEnergy(EnergyMixin, SeriesMixin):
    """Energy per fine bucket and decimated series (the app's queries) in the shared SQL."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.dialect: Dialect = db.dialect

    def _tx(self) -> contextlib.AbstractContextManager[Tx]:
        return self.db.tx()
