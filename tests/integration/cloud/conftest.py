"""Fixtures of the cloud's storage tests: a fresh store of each engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omdp.cloud.storage import ReadingStore, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadingStore]:
    """A fresh, migrated store of each backend (SQLite file, PostgreSQL database)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    s = open_store(url)
    yield s
    s.close()
