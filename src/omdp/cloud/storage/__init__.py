"""Cloud storage: the :class:`ReadingStore` port and its SQLite and PostgreSQL adapters."""

from __future__ import annotations

from omdp.catalog import Catalog
from omdp.cloud.storage.port import ReadingStore, RegistryError
from omdp.errors import StorageError

__all__ = ["ReadingStore", "RegistryError", "open_store"]


def open_store(
    url: str, *, pool_size: int = 5, catalog: Catalog | None = None, migrate: bool = True
) -> ReadingStore:
    """Open the store a URL names (``sqlite:///path`` or ``postgresql://...``), migrated.

    Raises:
        StorageError: an unsupported URL, or the database cannot be reached or migrated.
    """
    store: ReadingStore
    if url.startswith("sqlite:///"):
        from omdp.cloud.storage.sqlite import SqliteStore  # noqa: PLC0415 - driver on demand

        store = SqliteStore(url.removeprefix("sqlite:///"), catalog=catalog)
    elif url.startswith(("postgresql://", "postgres://")):
        from omdp.cloud.storage.postgres import PostgresStore  # noqa: PLC0415

        store = PostgresStore(url, pool_size=pool_size, catalog=catalog)
    else:
        msg = f"unsupported database URL {url.split('://', maxsplit=1)[0]!r}: use sqlite:/// or postgresql://"
        raise StorageError(msg)
    if migrate:
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
    return store
