"""The visualizing app (APP-1..APP-5) served by the cloud, or by the edge in no-cloud mode.

:func:`mount_webapp` adds to a FastAPI app, under ``prefix`` (default ``/app``):

- ``/app/`` the single-page app (``web/index.html``) and its ``js/``, ``css/`` and ``img/``
  files, revalidated on every load (``Cache-Control: no-cache`` with an ``ETag``);
- ``/app/vendor/uplot-<version>/...`` the chart library from ``web/node_modules/uplot/dist``,
  cached for a year (the version is in the path);
- ``/app/config.json``: where the app finds the cloud API and the edge's live API;
- ``/app/edge/v1/{live,live/<id>,alerts,rules,stream}`` when ``edge_url`` is given: a same-origin
  proxy to the edge's live API (:mod:`omdp.webapp.edge_proxy`), so that the browser needs no
  CORS grant from the edge. It passes each caller's identity to the edge, which shows the
  caller's household only.

The app's files are found by :func:`omdp.assets.web_dir`: inside an installed wheel, or in the
``web/`` of an editable checkout.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from omdp.assets import web_dir
from omdp.webapp.edge_proxy import mount_edge_proxy

log = logging.getLogger(__name__)

WEB_DIR = web_dir()
"""The app's files (``index.html``, ``js/``, ... and ``node_modules/uplot``)."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}
APP_DIRS = ("js", "css", "img")
VENDOR_FILES = ("uPlot.esm.js", "uPlot.min.css")
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
CSP = (
    "default-src 'self'; script-src 'self' 'sha256-{importmap}'; style-src 'self' "
    "'unsafe-inline'; img-src 'self' data:; connect-src 'self' {edge}; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

MISSING = """<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>omdp: app not installed</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>The app's libraries are not installed</h1>
<p>The folder <code>web/node_modules</code> is missing. Run <code>scripts/setup</code> (it runs
<code>npm ci --prefix web --omit=dev</code>), then reload this page.</p>
</body></html>"""


@dataclass(slots=True)
class _Files:
    """Reads the app's files, keeping each with its ETag until the file changes."""

    root: Path
    cache: dict[Path, tuple[float, bytes, str]] = field(default_factory=dict)

    def read(self, path: Path) -> tuple[bytes, str] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        known = self.cache.get(path)
        if known is not None and known[0] == stat.st_mtime:
            return known[1], known[2]
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        self.cache[path] = (stat.st_mtime, body, etag)
        return body, etag


def uplot_version(web: Path = WEB_DIR) -> str | None:
    """The installed uPlot's version, or None when ``web/node_modules`` lacks it."""
    try:
        meta = json.loads((web / "node_modules/uplot/package.json").read_text())
    except (OSError, ValueError):
        return None
    version = meta.get("version")
    return str(version) if version else None


def _respond(request: Request, found: tuple[bytes, str], path: Path, cache: str) -> Response:
    body, etag = found
    headers = {"ETag": etag, "Cache-Control": cache, **SECURITY_HEADERS}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    media = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    return Response(body, media_type=media, headers=headers)


def _api_prefix(app: FastAPI) -> str:
    openapi = app.openapi_url or ""
    return openapi.removesuffix("/openapi.json") if openapi.endswith("/openapi.json") else ""


def mount_webapp(
    app: FastAPI,
    *,
    prefix: str = "/app",
    edge_url: str | None = None,
    api_prefix: str | None = None,
    cloud: bool = True,
    web_dir: Path = WEB_DIR,
) -> None:
    """Serve the app from ``app`` under ``prefix``.

    Args:
        app: The cloud's (or, in no-cloud mode, the edge's) FastAPI application.
        prefix: Where the app lives, e.g. ``/app``.
        edge_url: The edge's HTTP API (``http://127.0.0.1:8081``): proxied same-origin under
            ``{prefix}/edge``. None: the cloud knows no edge (no live view), or, with
            ``cloud=False``, the app is served by the edge itself and reads ``/v1/live``.
        api_prefix: The cloud API's path prefix; default derived from ``app.openapi_url``.
        cloud: False when mounted on the edge (no history, costs from live data only).
        web_dir: The app's folder (tests point it elsewhere).
    """
    prefix = "/" + prefix.strip("/")
    files = _Files(web_dir)
    api = _api_prefix(app) if api_prefix is None else api_prefix.rstrip("/")
    if edge_url is not None:
        edge_base: str | None = f"{prefix}/edge"
    else:
        edge_base = None if cloud else ""
    config = {
        "apiPrefix": api if cloud else None,
        "cloud": cloud,
        "edgeUrl": edge_base,
        "appPrefix": prefix,
        "oauthTokenUrl": f"{api}/oauth/token" if cloud else None,
    }

    def index(request: Request) -> Response:
        version = uplot_version(web_dir)
        if version is None:
            log.error("web/node_modules/uplot is missing: run scripts/setup")
            return HTMLResponse(MISSING, status_code=503, headers={"Cache-Control": NO_CACHE})
        found = files.read(web_dir / "index.html")
        if found is None:
            return HTMLResponse(MISSING, status_code=503)
        text = found[0].decode()
        vendor = f"{prefix}/vendor/uplot-{version}"
        importmap = json.dumps({"imports": {"uplot": f"{vendor}/uPlot.esm.js"}})
        text = (
            text.replace("{{PREFIX}}", prefix)
            .replace("{{VENDOR}}", vendor)
            .replace("{{IMPORTMAP}}", importmap)
        )
        body = text.encode()
        digest = hashlib.sha256(importmap.encode()).digest()
        csp = CSP.format(importmap=base64.b64encode(digest).decode(), edge="")
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        response = _respond(request, (body, etag), Path("index.html"), NO_CACHE)
        response.headers["Content-Security-Policy"] = csp
        return response

    @app.get(prefix, include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{prefix}/", status_code=308)

    @app.get(f"{prefix}/", include_in_schema=False)
    async def app_index(request: Request) -> Response:
        return index(request)

    @app.get(f"{prefix}/config.json", include_in_schema=False)
    async def app_config() -> Response:
        return Response(
            json.dumps(config),
            media_type="application/json",
            headers={"Cache-Control": NO_CACHE, **SECURITY_HEADERS},
        )

    @app.get(prefix + "/vendor/uplot-{version}/{name}", include_in_schema=False)
    async def vendor(request: Request, version: str, name: str) -> Response:
        installed = uplot_version(web_dir)
        if installed is None:
            return HTMLResponse(MISSING, status_code=503)
        if version != installed or name not in VENDOR_FILES:
            raise HTTPException(status_code=404, detail="no such file")
        path = web_dir / "node_modules/uplot/dist" / name
        found = files.read(path)
        if found is None:
            raise HTTPException(status_code=404, detail="no such file")
        return _respond(request, found, path, IMMUTABLE)

    if edge_url is not None:  # before the catch-all of the app's files
        mount_edge_proxy(app, f"{prefix}/edge", edge_url.rstrip("/"))

    @app.get(prefix + "/{folder}/{name:path}", include_in_schema=False)
    async def asset(request: Request, folder: str, name: str) -> Response:
        if folder not in APP_DIRS:
            raise HTTPException(status_code=404, detail="no such file")
        base = (web_dir / folder).resolve()
        path = (base / name).resolve()
        if not path.is_relative_to(base) or path.suffix not in CONTENT_TYPES:
            raise HTTPException(status_code=404, detail="no such file")
        found = files.read(path)
        if found is None:
            raise HTTPException(status_code=404, detail="no such file")
        return _respond(request, found, path, NO_CACHE)
