"""Fixtures of the trust-boundary tests: a secured site per test (:mod:`tests.security.site`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.site import Site, free_port, secure_site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The secured site, its cloud API to be served on a free port (broker not started)."""
    with secure_site(tmp_path / "site", http_port=free_port()) as made:
        yield made
