"""Where the files that are not Python live: the app (``web/``) and the requirements document.

An installed wheel carries them inside the package, under ``omdp/_assets`` (copied there at build
time by the build step in ``setup.py``, never committed): ``web/`` holds the app's
``index.html``, ``js/``, ``css/``, ``img/`` and the chart library's files at
``node_modules/uplot/`` (``package.json``, ``LICENSE``, ``dist/uPlot.esm.js``,
``dist/uPlot.min.css``), the same layout as the repository's ``web/`` after ``npm ci``, and
``requirements.md`` is ``docs/requirements.md``. A source checkout installed editable has no
``_assets``: the files are then read from the checkout itself, found through the distribution's
own record of where it was installed from (PEP 610 ``direct_url.json``), so that edits to
``web/`` show at once.
"""

from __future__ import annotations

import json
from importlib import metadata, resources
from pathlib import Path
from urllib.parse import unquote, urlparse

PACKAGED = "_assets"
"""The folder inside the ``omdp`` package that the build step fills."""


def _packaged(name: str) -> Path | None:
    found = resources.files("omdp").joinpath(PACKAGED, name)
    path = Path(str(found))
    return path if path.exists() else None


def checkout() -> Path | None:
    """The source checkout an editable install points at, or None for a wheel install."""
    try:
        record = metadata.distribution("omdp").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not record:
        return None
    doc = json.loads(record)
    if not doc.get("dir_info", {}).get("editable"):
        return None
    url = urlparse(doc.get("url", ""))
    return Path(unquote(url.path)) if url.scheme == "file" else None


def _find(packaged: str, in_checkout: str) -> Path | None:
    found = _packaged(packaged)
    if found is not None:
        return found
    root = checkout()
    if root is not None and (root / in_checkout).exists():
        return root / in_checkout
    return None


def web_dir() -> Path:
    """The app's folder: ``index.html``, ``js/``, ``css/``, ``img/``, ``node_modules/uplot``.

    Where neither a packaged app nor an editable checkout's ``web/`` exists, the packaged
    location is returned all the same: the app then answers that its files are missing.
    """
    found = _find("web", "web")
    return found if found is not None else Path(str(resources.files("omdp"))) / PACKAGED / "web"


def requirements_document() -> Path:
    """``docs/requirements.md``: the requirement ids and what each requires.

    Raises:
        FileNotFoundError: neither packaged nor in an editable checkout.
    """
    found = _find("requirements.md", "docs/requirements.md")
    if found is None:
        msg = (
            f"docs/requirements.md is missing: neither omdp/{PACKAGED}/requirements.md (a built "
            "wheel) nor the docs/ of an editable source checkout was found"
        )
        raise FileNotFoundError(msg)
    return found
