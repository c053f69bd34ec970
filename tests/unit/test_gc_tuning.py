"""The collector settings of the services that move readings (ingest, edge, the API)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from omdp.ops.gc_tuning import THRESHOLDS, tune_for_throughput, tuned


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_gc")
def test_tuning_freezes_start_up_and_collects_young_objects_less_often() -> None:
    """What start-up made leaves the collections; young ones run every 50,000 allocations."""
    gc.unfreeze()
    tune_for_throughput()
    assert gc.get_threshold() == THRESHOLDS
    assert THRESHOLDS[0] >= 10_000
    assert gc.get_freeze_count() > 0


def test_tuned_block_restores_the_collector_as_it_found_it() -> None:
    """A benchmark measures under the services' settings and leaves the process as it was."""
    gc.unfreeze()
    before = gc.get_threshold()
    with tuned():
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
