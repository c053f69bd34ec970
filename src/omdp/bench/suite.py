"""``omdp bench`` as one suite: run benchmarks, collect their figures, keep going on failure.

A benchmark module offers ``run(*, quick)`` (prints its figures) and may offer
``measure(*, quick) -> dict`` (prints and returns them). For a module without ``measure`` the
suite captures what ``run`` prints and reads the figures from the text
(:func:`figures_from_text`). A benchmark that raises is reported as failed with its error; the
others still run.
"""

from __future__ import annotations

import contextlib
import importlib
import io
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


class _Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.out.write(text)
        return self.copy.write(text)

    def flush(self) -> None:
        self.out.flush()


_NUMBER = r"[-+]?\d[\d,]*(?:\.\d+)?"
_UNITS = (
    "readings/s|values/s|msg/s|frames/s|records/s|rows/s|req/s|MB/s|MiB/s|MB|MiB|KB|kB|"
    "bytes|ms|s|x|%"
)
_FIGURE = re.compile(rf"({_NUMBER})\s*({_UNITS})(?![A-Za-z/])")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "figure"


def _unit_slug(unit: str) -> str:
    return {"%": "pct", "x": "ratio"}.get(unit, _slug(unit.replace("/", "_per_")))


def figures_from_text(text: str) -> Figures:
    """Read figures from a benchmark's printed lines.

    Each ``NUMBER UNIT`` on a line (``12,345 msg/s``, ``4.3 ms``, ``59%``, ``0.59 x``) becomes a
    figure named after the line's label (the text before its first figure or ``:``) and the
    unit; a second figure of the same unit on a line gets a suffix.
    """
    figures: Figures = {}
    for line in text.splitlines():
        if re.match(r"^\d{4}-\d\d-\d\d[ T]", line):  # a log line
            continue
        matches = list(_FIGURE.finditer(line))
        if not matches:
            continue
        head = line[: matches[0].start()]
        label = _slug(head.split(":")[0] if ":" in head else head)
        counts: dict[str, int] = {}
        for match in matches:
            unit = _unit_slug(match.group(2))
            counts[unit] = counts.get(unit, 0) + 1
            key = f"{label}_{unit}" if counts[unit] == 1 else f"{label}_{unit}_{counts[unit]}"
            while key in figures:
                key += "_"
            number = match.group(1).replace(",", "")
            value: Figure = float(number) if "." in number else int(number)
            figures[key] = value
    return figures


def run_one(name: str, *, quick: bool, out: TextIO | None = None) -> Result:
    """Run one benchmark; never raises (a failure is a failed :class:`Result`)."""
    module_name, _ = BENCHMARKS[name]
    tee = _Tee(out or sys.stdout)
    started = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
        measure: Callable[..., Figures] | None = getattr(module, "measure", None)
        with contextlib.redirect_stdout(tee):
            if measure is not None:
                figures = dict(measure(quick=quick))
            else:
                module.run(quick=quick)
                figures = figures_from_text(tee.copy.getvalue())
    except Exception as exc:
        detail = traceback.format_exception_only(exc)[-1].strip()
        tee.write(f"FAILED: {detail}\n")
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
