"""Shared test fixtures: paths to the repository and to the shared specification material."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    """The shared specification folder beside the repository; skips the test when absent."""
    if not SHARED.is_dir():
        pytest.skip("the shared specification folder is not beside this checkout")
    return SHARED
