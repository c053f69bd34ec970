"""The cloud's REST API (CL-3..CL-13): queries, bulk downloads, deletes, registry, adapter files.

:func:`create_app` builds the FastAPI application from settings, a
:class:`~omdp.cloud.storage.port.ReadingStore` and an :class:`Authenticator`.
"""

from __future__ import annotations

from omdp.cloud.api.app import create_app
from omdp.cloud.api.auth import Authenticator, Principal, StaticTokenAuthenticator, hash_token

__all__ = ["Authenticator", "Principal", "StaticTokenAuthenticator", "create_app", "hash_token"]
