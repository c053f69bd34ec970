"""Serving the API over TLS with a plain-HTTP redirect (CL-7, APP-5).

:func:`serve_https` runs two uvicorn servers in one event loop: the app over HTTPS (certificate
and key from ``settings.tls``, optional client certificates) on ``http_port``, and
:func:`redirect_app` on ``tls.redirect_port`` answering every plain-HTTP request with
``308 Permanent Redirect`` to the same path on HTTPS (308 keeps the method and body).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from typing import Protocol

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omdp.errors import ConfigError
from omdp.security.files import check_secret
from omdp.security.settings import HttpsSettings

_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$")


class HttpsSite(Protocol):
    """Where an app is served over TLS: the cloud's settings, or an edge's query API."""

    @property
    def tls(self) -> HttpsSettings:
        """Certificate, key, client CA and redirect port."""
        ...

    @property
    def http_host(self) -> str:
        """The address to listen on."""
        ...

    @property
    def http_port(self) -> int:
        """The HTTPS port."""
        ...


def redirect_app(https_port: int, *, default_host: str = "localhost") -> ASGIApp:
    """An ASGI app answering every HTTP request with 308 to ``https://host:https_port/path``.

    The host comes from the ``Host`` header when it is a plain host name or address (anything
    else falls back to ``default_host``, so the header cannot inject a foreign URL shape).
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; websockets are not served
            return
        host = default_host
        for name, value in scope["headers"]:
            if name == b"host":
                match = _HOST.match(value.decode("latin-1"))
                if match:
                    host = match.group(1)
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        target = f"https://{host}:{https_port}".encode() + path + (b"?" + query if query else b"")
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [
                    (b"location", target),
                    (b"content-length", b"0"),
                    (b"strict-transport-security", b"max-age=31536000"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    return app


HSTS = b"max-age=31536000"
"""Browsers that saw an HTTPS answer keep to HTTPS for a year (CL-7)."""


class Hsts:
    """ASGI middleware: every answer over HTTPS carries ``Strict-Transport-Security``."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the header to the answer's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


def https_servers(
    app: ASGIApp, settings: HttpsSite, *, host: str | None = None, port: int | None = None
) -> tuple[uvicorn.Server, uvicorn.Server | None]:
    """The HTTPS server of ``app`` and, if ``tls.redirect_port`` is set, the redirect server.

    Raises:
        ConfigError: ``tls.cert_file`` or ``tls.key_file`` is not set.
    """
    tls = settings.tls
    if tls.cert_file is None or tls.key_file is None:
        msg = "tls.cert_file and tls.key_file are needed to serve HTTPS (CL-7)"
        raise ConfigError(msg)
    check_secret(tls.key_file, "the TLS key (tls.key_file)")
    app = Hsts(app)
    bind = host or settings.http_host
    https_port = settings.http_port if port is None else port
    main = uvicorn.Server(
        uvicorn.Config(
            app,
            host=bind,
            port=https_port,
            ssl_certfile=str(tls.cert_file),
            ssl_keyfile=str(tls.key_file),
            ssl_ca_certs=str(tls.client_ca_file) if tls.client_ca_file else None,
            ssl_cert_reqs=ssl.CERT_OPTIONAL if tls.client_ca_file else ssl.CERT_NONE,
            log_config=None,
            access_log=False,
            proxy_headers=True,
        )
    )
    redirect = None
    if tls.redirect_port is not None:
        redirect = uvicorn.Server(
            uvicorn.Config(
                redirect_app(https_port),
                host=bind,
                port=tls.redirect_port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
    return main, redirect


async def serve_https(
    app: ASGIApp, settings: HttpsSite, *, host: str | None = None, port: int | None = None
) -> None:
    """Serve ``app`` over HTTPS (and the redirect) until one server stops; then stop both."""
    main, redirect = https_servers(app, settings, host=host, port=port)
    servers = [s for s in (main, redirect) if s is not None]

    async def run(server: uvicorn.Server) -> None:
        try:
            await server.serve()
        finally:
            for other in servers:
                other.should_exit = True

    async with asyncio.TaskGroup() as tasks:
        for server in servers:
            tasks.create_task(run(server))
