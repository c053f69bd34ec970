"""The application factory: settings and a store in, a FastAPI app out, built in one pass.

The security parts (:mod:`omdp.cloud.api.security`: the authenticator chain, the embedded token
issuer and its routes, the body size limit) are built from the settings before the app, so
that the app's context holds its final authenticator from the start.
"""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, FastAPI

from omdp import __version__
from omdp.auth.principal import Authenticator
from omdp.auth.static import StaticTokenAuthenticator
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
from omdp.cloud.api.security import authenticator as api_authenticator
from omdp.cloud.api.security import build_issuer
from omdp.cloud.api.settings import ApiServerSettings
from omdp.cloud.storage.port import ReadingStore
from omdp.security.issuer import issuer_router
from omdp.security.limits import BodySizeLimit
from omdp.security.users import UserStore

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
    settings: ApiServerSettings,
    store: ReadingStore,
    *,
    authenticator: Authenticator | None = None,
    credentials: CredentialStore | None = None,
    users: UserStore | None = None,
) -> FastAPI:
    """The REST API over ``store``, under ``settings.path_prefix``.

    Args:
        settings: The cloud's settings, or a no-cloud edge's (``api`` group: tokens, keys,
            limits, auth; address and TLS for the issuer's URL).
        store: Where readings and the registry live; not closed by the app.
        authenticator: Resolves static bearer tokens, first in the chain (CL-6, CL-14);
            default the static tokens of the settings.
        credentials: Where device password hashes go; default ``api.credentials_file``.
        users: The embedded issuer's user store; default ``api.auth.users_db``.
    """
    api = settings.api
    prefix = settings.path_prefix.rstrip("/")
    issuer = build_issuer(settings, users) if api.auth.issuer_enabled else None
    static = authenticator or StaticTokenAuthenticator(api.tokens)
    ctx = ApiContext(
        settings=settings,
        store=store,
        authenticator=api_authenticator(settings, static, issuer),
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
    if issuer is not None:
        app.include_router(issuer_router(issuer), prefix=prefix)
        app.state.issuer = issuer
    app.add_middleware(BodySizeLimit, max_bytes=api.auth.max_body_bytes)
    return app
