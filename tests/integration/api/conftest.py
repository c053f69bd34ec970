"""Fixtures of the API tests: the API over a seeded real store, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.api.apidata import Api, TestClient, make_settings, seed

from omdp.cloud.api.app import create_app
from omdp.cloud.storage import open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty store: SQLite in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def api(store_url: str, tmp_path: Path) -> Iterator[Api]:
    """The API over a seeded real store."""
    settings = make_settings(tmp_path, store_url, json_max_rows=100)
    store = open_store(store_url)
    seed(store)
    with TestClient(create_app(settings, store)) as client:
        yield Api(client, store, settings)
    store.close()
