"""Fixtures of the fault-injection suite: a chain per test, stopped whatever happens."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.chain import Chain


def outage_seconds() -> float:
    """How long the cloud broker stays away in the outage case: ``OMDP_FAULT_OUTAGE_S``.

    20 s in CI; the issue's full run uses a minute (``OMDP_FAULT_OUTAGE_S=60``).
    """
    return float(os.environ.get("OMDP_FAULT_OUTAGE_S", "20"))


@pytest.fixture
def make_chain(tmp_path: Path) -> Iterator[Callable[..., Chain]]:
    """Build and start chains; every one is stopped after the test."""
    made: list[Chain] = []

    def factory(**kwargs: Any) -> Chain:
        chain = Chain(tmp_path / f"chain{len(made)}", **kwargs)
        chain.workdir.mkdir(parents=True, exist_ok=True)
        made.append(chain)
        return chain.start()

    yield factory
    for chain in made:
        chain.close()
