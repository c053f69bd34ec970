"""``omdp bench`` as one suite: run benchmarks, collect their figures, keep going on failure.

A benchmark module offers ``measure(*, quick) -> Figures``: it prints its figures as it goes,
beside their baseline, and returns them by name. A name is ``subject.figure`` in snake case,
the unit last: ``sqlite.month_query_ms``, ``postgres.month_query_ms``, ``raw.msgs_per_s``,
``edge.ratio_to_raw`` (:func:`named` builds them), so that tools can read
``omdp bench --json``. A benchmark that raises, or returns a malformed name, is reported as
failed with its error; the others still run.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

Figure = float | int | str
Figures = dict[str, Figure]

#: benchmark name -> (module, one-line help)
BENCHMARKS: Mapping[str, tuple[str, str]] = {
    "validation": (
        "omdp.bench.validation_bench",
        "Parse and validate MeterReadings against pydantic-core and msgspec.",
    ),
    "mbus": ("omdp.bench.mbus_bench", "Decode the M-Bus corpus against pyMeterBus."),
    "dlms": ("omdp.bench.dlms_bench", "Decode and decrypt DLMS pushes against dlms-cosem."),
    "wmbus": (
        "omdp.bench.wmbus_bench",
        "Wireless M-Bus telegrams decoded and decrypted (modes 5, 7) against the wired decoder.",
    ),
    "edge": (
        "omdp.bench.edge_bench",
        "Edge forwarding rate and backlog drain against the raw broker rate.",
    ),
    "ingest": (
        "omdp.bench.ingest_bench",
        "End-to-end cloud ingest on SQLite and PostgreSQL against the raw broker rate.",
    ),
    "query": ("omdp.bench.query_bench", "Query latency at 10 million property values."),
    "api": (
        "omdp.bench.api_bench",
        "HTTP query latency and bulk-download rate with the server's peak memory.",
    ),
    "app": (
        "omdp.bench.app_bench",
        "Time until the app's history view of a year of 15-minute data is drawn, in Chromium.",
    ),
    "chain": (
        "omdp.bench.chain_bench",
        "Adapters -> edge -> cloud ingest -> SQLite / PostgreSQL against the raw broker rate.",
    ),
}


@dataclass(slots=True)
class Result:
    """One benchmark's outcome."""

    name: str
    ok: bool
    seconds: float
    figures: Figures = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The benchmark's entry in the JSON document."""
        doc: dict[str, Any] = {
            "status": "ok" if self.ok else "failed",
            "seconds": round(self.seconds, 1),
            "figures": self.figures,
        }
        if self.error is not None:
            doc["error"] = self.error
        return doc


_WORDS = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
NAME = re.compile(rf"^{_WORDS}\.{_WORDS}$")
"""What a figure's name looks like: ``subject.figure``, each in lower-case snake case."""


def named(subject: str, **values: Figure) -> Figures:
    """Figures named ``subject.key`` for each keyword: ``named("raw", msgs_per_s=9000)``.

    Raises:
        ValueError: a name that :data:`NAME` does not match.
    """
    figures = {f"{subject}.{key}": value for key, value in values.items()}
    check_names(figures)
    return figures


def check_names(figures: Mapping[str, Figure]) -> None:
    """Refuse figures whose names are not ``subject.figure`` (:data:`NAME`).

    Raises:
        ValueError: naming the malformed names.
    """
    bad = sorted(name for name in figures if not NAME.match(name))
    if bad:
        msg = f"figure names must be subject.figure in snake case: {', '.join(bad)}"
        raise ValueError(msg)


def run_one(name: str, *, quick: bool, out: TextIO | None = None) -> Result:
    """Run one benchmark; never raises (a failure is a failed :class:`Result`)."""
    module_name, _ = BENCHMARKS[name]
    target = out or sys.stdout
    started = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
        measure: Callable[..., Figures] = module.measure
        with contextlib.redirect_stdout(target):
            figures = dict(measure(quick=quick))
        check_names(figures)
    except Exception as exc:
        detail = traceback.format_exception_only(exc)[-1].strip()
        target.write(f"FAILED: {detail}\n")
        return Result(name, False, time.perf_counter() - started, error=detail)
    return Result(name, True, time.perf_counter() - started, figures)


def run_suite(names: Sequence[str], *, quick: bool, out: TextIO | None = None) -> list[Result]:
    """Run ``names`` in order, each whatever became of the ones before."""
    results = []
    for name in names:
        print(f"== {name}", file=out or sys.stdout, flush=True)
        results.append(run_one(name, quick=quick, out=out))
    return results


def table(results: Sequence[Result]) -> list[str]:
    """The summary: one line per figure, failures with their error."""
    lines = [f"{'benchmark':10} {'figure':58} {'value':>14}"]
    for result in results:
        if not result.ok:
            lines.append(f"{result.name:10} {'FAILED':58} {result.error}")
            continue
        if not result.figures:
            lines.append(f"{result.name:10} {'(no figures)':58}")
        for key, value in result.figures.items():
            shown = (
                f"{value:,.2f}"
                if isinstance(value, float)
                else f"{value:,}"
                if isinstance(value, int)
                else value
            )
            lines.append(f"{result.name:10} {key:58} {shown:>14}")
        lines.append(f"{result.name:10} {'took_s':58} {result.seconds:>14,.1f}")
    return lines


def document(results: Sequence[Result], *, quick: bool) -> dict[str, Any]:
    """The JSON document of a run: every benchmark's status and figures."""
    import os
    import platform
    from datetime import UTC, datetime

    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "benchmarks": {r.name: r.to_json() for r in results},
        "failed": [r.name for r in results if not r.ok],
    }
