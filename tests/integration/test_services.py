"""The test services themselves: a broker that survives restarts, a database per test."""

from __future__ import annotations

import psycopg
import pytest
from tests.support.mosquitto import Mosquitto


@pytest.mark.integration
def test_mosquitto_restarts_on_the_same_port(mosquitto: Mosquitto) -> None:
    """A throwaway broker can be stopped and started again on its port."""
    port = mosquitto.port
    mosquitto.restart()
    assert mosquitto.running
    assert mosquitto.port == port


@pytest.mark.integration
def test_postgres_database_per_test(postgres_url: str) -> None:
    """Each test gets its own empty database on the throwaway cluster."""
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert row == (0,)
