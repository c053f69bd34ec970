"""The build step of the wheel: the app's files and the chart library go inside the package.

Everything else is declared in ``pyproject.toml``; this file only adds a step to ``build_py``,
which copies into ``omdp/_assets`` (see ``omdp.assets``):

- ``web/index.html`` and ``web/{js,css,img}``: the app;
- uPlot's ``package.json``, ``LICENSE`` and the two files the app loads, from the npm package
  in ``web/node_modules/uplot`` (installed here with ``npm ci`` when it is missing), so that an
  installed wheel serves the app with its charts and nothing is fetched at run time;
- ``docs/requirements.md``, which the conformance report reads.

Nothing of it is committed: ``web/node_modules`` and ``build/`` are ignored. An editable install
skips the step (the app is then read from the checkout).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
UPLOT_FILES = ("package.json", "LICENSE", "dist/uPlot.esm.js", "dist/uPlot.min.css")


def _uplot() -> Path:
    uplot = WEB / "node_modules" / "uplot"
    if not (uplot / "dist" / "uPlot.esm.js").is_file():
        npm = shutil.which("npm")
        if npm is None:
            msg = "web/node_modules/uplot is missing and npm is not installed: cannot build"
            raise SystemExit(msg)
        command = [npm, "ci", "--prefix", str(WEB), "--omit=dev", "--no-audit", "--no-fund"]
        subprocess.run(command, check=True)  # noqa: S603 - npm from PATH, fixed arguments
    return uplot


class BuildWithAssets(build_py):  # type: ignore[misc]
    """``build_py`` that also copies the app, uPlot and the requirements into the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "omdp" / "_assets"
        if target.exists():
            shutil.rmtree(target)
        web = target / "web"
        web.mkdir(parents=True)
        shutil.copy2(WEB / "index.html", web / "index.html")
        for folder in ("js", "css", "img"):
            shutil.copytree(WEB / folder, web / folder)
        uplot = _uplot()
        for name in UPLOT_FILES:
            dest = web / "node_modules" / "uplot" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(uplot / name, dest)
        shutil.copy2(ROOT / "docs" / "requirements.md", target / "requirements.md")


setup(cmdclass={"build_py": BuildWithAssets})
