"""The cloud's REST API (CL-3..CL-13): queries, bulk downloads, deletes, registry, adapter files.

:func:`create_app` builds the FastAPI application from
:class:`~omdp.cloud.api.settings.ApiServerSettings` and a
:class:`~omdp.cloud.storage.port.ReadingStore`; who may call it is :mod:`omdp.auth`'s.
"""

from __future__ import annotations

from omdp.cloud.api.app import create_app

__all__ = ["create_app"]
