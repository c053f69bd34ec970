"""CL-1: a PostgreSQL store that cannot connect says why, in the server's words."""

from __future__ import annotations

import pytest

from omdp.cloud.storage import postgres
from omdp.cloud.storage.postgres import PostgresStore
from omdp.errors import StorageError


def test_cl1_unreachable_database_names_the_servers_reason(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that does not exist: the pool only times out, the error tells the cause."""
    monkeypatch.setattr(postgres, "POOL_TIMEOUT_S", 1.0)
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(StorageError) as caught:
        PostgresStore(url)
    text = str(caught.value)
    assert "cannot connect to PostgreSQL" in text
    assert 'database "no_such_database" does not exist' in text
