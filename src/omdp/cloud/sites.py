"""The ingest's view of which concentrator may speak for which meter (CL-14, CO-3).

:class:`SiteMap` keeps the registry's ``{meter: concentrator}`` in memory, read again every
``ingest.site_refresh_s`` seconds, and answers for each reading whether its concentrator is its
meter's site. A concentrator that seems wrong is looked up afresh in the store before the
reading is refused (at most once a second per meter), so that a meter just moved to a new
site is accepted from it at once; the old site is refused from the next refresh on.

A meter without a site is accepted from any concentrator unless ``ingest.require_site`` is set
(deployments that registered every meter's site should set it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from omdp.cloud.storage.port import Registry
from omdp.errors import StorageError

log = logging.getLogger(__name__)

RECHECK_S = 1.0
"""Least time between two fresh look-ups of one meter's site."""


class SiteMap:
    """Meter id -> the concentrator that may forward its readings."""

    def __init__(self, store: Registry, *, require_site: bool = False) -> None:
        """Read sites from ``store``; ``require_site`` refuses meters that have none."""
        self.store = store
        self.require_site = require_site
        self._sites: dict[str, str] = {}
        self._checked: dict[str, float] = {}

    def load(self) -> None:
        """Read every meter's site from the store (blocking)."""
        self._sites = self.store.meter_sites()
        self._checked.clear()

    def problem(self, meter_id: str, concentrator_id: str | None) -> str | None:
        """Why ``concentrator_id`` may not speak for ``meter_id``, or None when it may."""
        site = self._sites.get(meter_id)
        if site == concentrator_id or (site is None and not self.require_site):
            return None
        now = time.monotonic()
        if now - self._checked.get(meter_id, -RECHECK_S) >= RECHECK_S:
            self._checked[meter_id] = now
            try:
                fresh = self.store.meter_site(meter_id)
            except StorageError:
                fresh = site
            if fresh is None:
                self._sites.pop(meter_id, None)
            else:
                self._sites[meter_id] = fresh
            site = fresh
            if site == concentrator_id or (site is None and not self.require_site):
                return None
        if site is None:
            return f"meter {meter_id!r} has no site: register the concentrator that forwards it"
        return (
            f"concentrator {concentrator_id!r} is not the site of meter {meter_id!r} "
            f"(its site is {site!r})"
        )

    async def keep_current(self, every_s: float, stop: asyncio.Event) -> None:
        """Reload every ``every_s`` seconds until ``stop``; a failed read keeps the last view."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
            try:
                await asyncio.to_thread(self.load)
            except StorageError as exc:
                log.warning("cannot read the meters' sites: %s", exc)
