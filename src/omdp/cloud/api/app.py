"""The application factory: settings, a store and an authenticator in, a FastAPI app out."""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, FastAPI

from omdp import __version__
from omdp.cloud.api.auth import Authenticator, StaticTokenAuthenticator
from omdp.cloud.api.bulk import LinkSigner
from omdp.cloud.api.credentials import CredentialStore, FileCredentialStore
from omdp.cloud.api.deps import ApiContext
from omdp.cloud.api.errors import install_error_handlers
from omdp.cloud.api.metrics import ApiMetrics, MetricsMiddleware
from omdp.cloud.api.privacy import Pseudonymiser
from omdp.cloud.api.routes import (
    adapter_config,
    aggregates,
    elements,
    erasure,
    health,
    households,
    me,
    meter_health,
    readings,
    sites,
    tariffs,
)
from omdp.cloud.storage.port import ReadingStore
from omdp.config import CloudSettings
from omdp.security.install import install_auth

log = logging.getLogger(__name__)

DESCRIPTION = """The cloud interface of the Open Meter Data Platform.

`POST /v1/meterReadings` is the specification's query (CL-3, CL-4) with its bulk download
(CL-5); `DELETE /v1/meterReadings?id=` deletes a reading (CL-11);
`POST /v1/adapterConfigurations` creates a meter and its adapter's file (CL-10). The registry,
aggregates and erasure (CL-13) are this implementation's additions.

**Callers** send `Authorization: Bearer <token>` (401 without a known one). Scopes:
`readings:read`, `readings:delete`, `registry:write`, `operate` (all of them, and every
household's data); a missing scope is 403.

**Privacy** (CL-8, CL-9, CL-13): household owners see their own household; operators see all;
everyone else sees meters under stable pseudonyms (`pseu-...`) and is refused (403,
`privacy.too_few_rows`) results of fewer than 20 readings.

**Errors** all have one body: `{"detail": [{"loc": "$.readingTimeEnd", "msg": "...",
"type": "..."}]}`; `loc` is a JSON path into the body (`$...`) or `query.x`, `path.x`,
`header.x`.
"""


def _key(secret: object | None, what: str) -> bytes:
    if secret is None:
        log.warning("api.%s is not set: using a random key for this process only", what)
        return secrets.token_bytes(32)
    value: str = secret.get_secret_value()  # type: ignore[attr-defined]
    return value.encode()


def create_app(
    settings: CloudSettings,
    store: ReadingStore,
    *,
    authenticator: Authenticator | None = None,
    credentials: CredentialStore | None = None,
) -> FastAPI:
    """The REST API over ``store``, under ``settings.path_prefix``.

    Args:
        settings: The cloud's settings (``api`` group: tokens, keys, limits).
        store: Where readings and the registry live; not closed by the app.
        authenticator: Resolves bearer tokens; default the static tokens of the settings.
        credentials: Where device password hashes go; default ``api.credentials_file``.
    """
    api = settings.api
    prefix = settings.path_prefix.rstrip("/")
    ctx = ApiContext(
        settings=settings,
        store=store,
        authenticator=authenticator or StaticTokenAuthenticator(api.tokens),
        signer=LinkSigner(_key(api.bulk_secret, "bulk_secret"), ttl_s=api.bulk_link_ttl_s),
        pseudonymise=Pseudonymiser(_key(api.pseudonym_key, "pseudonym_key")),
        credentials=credentials or FileCredentialStore(api.credentials_file),
    )
    app = FastAPI(
        title="omdp cloud API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=f"{prefix}/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.metrics = ApiMetrics()
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    v1 = APIRouter(prefix=prefix)
    features = (
        readings, households, sites, elements, erasure, aggregates, adapter_config, me, tariffs,
        meter_health,
    )
    for feature in features:
        v1.include_router(feature.router)
    app.include_router(v1)
    app.include_router(health.router)
    install_auth(app, settings)  # CL-6, CL-14: token issuer, JWT bearer tokens, body limit
    return app
