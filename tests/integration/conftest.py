"""Fixtures that start real services: a Mosquitto broker per test, one PostgreSQL per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.mosquitto import Mosquitto
from tests.support.postgres import PostgresCluster


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh Mosquitto broker on its own port, stopped after the test."""
    broker = Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.kill()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[type[Mosquitto]]:
    """Start more brokers (e.g. a local and a cloud one); all are killed after the test."""
    started: list[Mosquitto] = []

    class Factory(Mosquitto):
        def __init__(self, name: str, **kwargs: object) -> None:
            super().__init__(tmp_path / name, **kwargs)  # type: ignore[arg-type]
            started.append(self)

    yield Factory
    for broker in started:
        broker.kill()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL server for the whole test session."""
    cluster = PostgresCluster().start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A fresh, empty database for one test."""
    return postgres_cluster.create_database()
