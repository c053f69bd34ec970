"""Garbage-collector settings for the services that move readings (ingest, edge, the API).

Their hot paths allocate many short-lived containers (decoded messages, value tuples, rows)
while thousands of readings wait alive in a batch, a queue or a query's answer. With
CPython's default thresholds (a collection every 700 allocations) the collector kept
traversing those live readings, which made classifying a reading markedly slower
(docs/benchmarks.md, "Garbage collector"). The hot paths make no reference cycles of their
own, so collecting them rarely frees no less; ``gc.freeze`` also moves what start-up made
(modules, settings, the catalogue) out of every future collection.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Final

THRESHOLDS: Final = (50_000, 20, 10)
"""(generation 0, 1, 2): allocations before a young collection, and the ratios above it.
The oldest generation keeps CPython's own ratio (10): cyclic garbage that lives long enough
to reach it is still collected about every ten million allocations (a few seconds at full
load); a ratio of 100 was no faster."""


def tune_for_throughput() -> None:
    """Freeze what start-up allocated and collect less often; call once the service is set up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


@contextlib.contextmanager
def tuned() -> Iterator[None]:
    """The collector as :func:`tune_for_throughput` sets it, restored when the block ends: for
    a benchmark that runs a service's code in its own process."""
    before = gc.get_threshold()
    tune_for_throughput()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
