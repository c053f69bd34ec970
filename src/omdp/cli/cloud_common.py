"""What the ``omdp cloud`` commands share: the ``--config`` option, settings and the store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from omdp.cloud.settings import CloudSettings
from omdp.errors import OmdpError
from omdp.settings import load_settings

if TYPE_CHECKING:
    from omdp.cloud.storage.port import ReadingStore

CONFIG = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML settings file (OMDP_CLOUD_* environment variables override it).",
)


def cloud_settings(config_file: Path | None) -> CloudSettings:
    """The cloud's settings, or a click error naming the file and the problem."""
    try:
        return load_settings(CloudSettings, config_file)
    except OmdpError as exc:
        raise click.ClickException(str(exc)) from exc


@contextlib.contextmanager
def opened_store(settings: CloudSettings) -> Iterator[ReadingStore]:
    """The configured store, closed afterwards; our errors become click errors."""
    from omdp.catalog import Catalog
    from omdp.cloud.storage import open_store

    try:
        catalog = Catalog.load(settings.catalog_files)
        store = open_store(settings.db.url, pool_size=settings.db.pool_size, catalog=catalog)
    except OmdpError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        yield store
    except OmdpError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
