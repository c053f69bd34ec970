"""The requirement list, the id extraction and the report (JSON and Markdown).

Pure functions without pytest, so that ``omdp conformance`` can render a stored
``conformance.json`` and the unit tests can check the logic without a test session.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from omdp.assets import requirements_document

_DEFINITION = re.compile(r"^- \*\*((?:DM|AD|CO|CM|CL|APP)-\d{1,2})\*\* ([^:]+):", re.MULTILINE)


def read_requirements(text: str) -> dict[str, str]:
    """The requirement ids of docs/requirements.md with their titles, in the document's order.

    A requirement is a list item ``- **DM-3** Property values: what it requires...``.
    """
    return {rid: title.strip() for rid, title in _DEFINITION.findall(text)}


REQUIREMENTS: Mapping[str, str] = read_requirements(requirements_document().read_text())
"""Every requirement id of docs/requirements.md and its title."""

REQUIREMENT_IDS: tuple[str, ...] = tuple(REQUIREMENTS)
"""Every requirement id, in the order of docs/requirements.md."""

FAMILIES: Mapping[str, int] = {
    family: max(int(rid.split("-")[1]) for rid in REQUIREMENT_IDS if rid.startswith(family + "-"))
    for family in dict.fromkeys(rid.split("-")[0] for rid in REQUIREMENT_IDS)
}
"""family -> highest number."""

# ``DM-3`` in docstrings and names; in test names also ``cl8`` and ``cl_8``
# (``test_cl8_small_result``). Never inside a longer word (``ADD-1``, ``BAD1``) nor followed by
# more digits.
_ID = re.compile(r"(?<![A-Za-z0-9])(DM|AD|CO|CM|CL|APP)-(\d{1,2})(?![0-9])", re.IGNORECASE)
_NAME_ID = re.compile(r"(?<![A-Za-z0-9])(DM|AD|CO|CM|CL|APP)_?(\d{1,2})(?![0-9])", re.IGNORECASE)
_RANGE = re.compile(
    r"(?<![A-Za-z0-9])(DM|AD|CO|CM|CL|APP)-(\d{1,2})\s*(?:\.\.|–|to)\s*(?:\1-)?(\d{1,2})(?![0-9])",
    re.IGNORECASE,
)

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


def ids_in(*texts: str | None, names: Iterable[str] = ()) -> list[str]:
    """Requirement ids named in ``texts`` (docstrings) and ``names`` (test names), sorted.

    Only ids of the specification count. ``AD-1..AD-6`` and ``CO-1..4`` name every id of the
    range; in ``names`` the hyphen may also be ``_`` or left out (``test_cl8_...``).
    """
    found: set[str] = set()
    for name in names:
        for family, number in _NAME_ID.findall(name):
            found.add(f"{family.upper()}-{int(number)}")
    for text in (*texts, *names):
        if not text:
            continue
        for family, low, high in _RANGE.findall(text):
            for number in range(int(low), int(high) + 1):
                found.add(f"{family.upper()}-{number}")
        for family, number in _ID.findall(text):
            found.add(f"{family.upper()}-{int(number)}")
    known = set(REQUIREMENT_IDS)
    return sorted(found & known, key=REQUIREMENT_IDS.index)


@dataclass(slots=True)
class CaseRecord:
    """One test: its node id, the ids it names and its outcome."""

    nodeid: str
    ids: list[str]
    outcome: str = PASSED

    def merge(self, outcome: str) -> None:
        """Fold a phase's outcome in: a failure anywhere fails the test."""
        if FAILED in {outcome, self.outcome}:
            self.outcome = FAILED
        elif outcome == SKIPPED:
            self.outcome = SKIPPED


@dataclass(slots=True)
class Report:
    """Per requirement id: the tests naming it and a status."""

    requirements: dict[str, dict[str, Any]] = field(default_factory=dict)
    tests: int = 0
    references: dict[str, list[str]] = field(default_factory=dict)

    @property
    def gaps(self) -> list[str]:
        """Requirement ids that no test names."""
        return [rid for rid, entry in self.requirements.items() if entry["status"] == "gap"]

    def to_json(self) -> dict[str, Any]:
        """The document written to ``conformance.json``."""
        return {
            "requirements": self.requirements,
            "tests": self.tests,
            "gaps": self.gaps,
            "references": self.references,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Report:
        """Read back what :meth:`to_json` wrote."""
        return cls(
            requirements=dict(doc["requirements"]),
            tests=int(doc.get("tests", 0)),
            references={k: list(v) for k, v in doc.get("references", {}).items()},
        )


#: Evidence outside this test session, listed beside the tests (not counted as proof).
REFERENCES: Mapping[str, tuple[str, ...]] = {
    "CL-3": ("tests/integration/api: schemathesis fuzzes every API request (bad input, CL-3..5)",),
    "CL-4": ("tests/integration/api: schemathesis checks every response against the schema",),
    "CL-15": ("omdp bench (docs/benchmarks.md): speed and volume figures of the whole chain",),
}


def _status(outcomes: Iterable[str]) -> str:
    seen = list(outcomes)
    if not seen:
        return "gap"
    if FAILED in seen:
        return FAILED
    if PASSED in seen:
        return PASSED
    return SKIPPED


def build_report(records: Iterable[CaseRecord]) -> Report:
    """Group the tests by the requirement ids they name; ids nobody names are gaps."""
    by_id: dict[str, list[CaseRecord]] = {rid: [] for rid in REQUIREMENT_IDS}
    count = 0
    for record in records:
        count += 1
        for rid in record.ids:
            by_id.setdefault(rid, []).append(record)
    report = Report(tests=count, references={k: list(v) for k, v in REFERENCES.items()})
    for rid, tests in by_id.items():
        report.requirements[rid] = {
            "status": _status(t.outcome for t in tests),
            "passed": sum(t.outcome == PASSED for t in tests),
            "failed": sum(t.outcome == FAILED for t in tests),
            "skipped": sum(t.outcome == SKIPPED for t in tests),
            "tests": [{"nodeid": t.nodeid, "outcome": t.outcome} for t in tests],
        }
    return report


def render_table(report: Report) -> list[str]:
    """One line per requirement: id, status, counts (for the terminal)."""
    lines = [f"{'requirement':12} {'status':8} {'passed':>6} {'failed':>6} {'skipped':>7}"]
    for rid, entry in report.requirements.items():
        lines.append(
            f"{rid:12} {entry['status']:8} {entry['passed']:>6} {entry['failed']:>6} "
            f"{entry['skipped']:>7}"
        )
    gaps = report.gaps
    lines.append(
        f"{len(report.requirements)} requirements, {report.tests} tests; "
        f"gaps (no test): {', '.join(gaps) if gaps else 'none'}"
    )
    return lines


def render_markdown(report: Report) -> str:
    """``conformance.md``: a summary table, then the tests of each requirement."""
    out = [
        "# Conformance report",
        "",
        f"{len(report.requirements)} requirement ids (docs/requirements.md), {report.tests} tests "
        "collected. A requirement is proved by the tests that name its id in their name or "
        "docstring.",
        "",
        "| requirement | title | status | passed | failed | skipped |",
        "|---|---|---|---|---|---|",
    ]
    for rid, entry in report.requirements.items():
        status = "**GAP: no test**" if entry["status"] == "gap" else entry["status"]
        out.append(
            f"| {rid} | {REQUIREMENTS.get(rid, '')} | {status} | {entry['passed']} | "
            f"{entry['failed']} | {entry['skipped']} |"
        )
    gaps = report.gaps
    out += ["", f"Gaps: {', '.join(gaps) if gaps else 'none'}.", ""]
    for rid, entry in report.requirements.items():
        out.append(f"## {rid}: {REQUIREMENTS[rid]}" if rid in REQUIREMENTS else f"## {rid}")
        out.append("")
        for test in entry["tests"]:
            out.append(f"- `{test['nodeid']}`: {test['outcome']}")
        for ref in report.references.get(rid, []):
            out.append(f"- see also: {ref}")
        if not entry["tests"] and not report.references.get(rid):
            out.append("- no test names this requirement")
        out.append("")
    return "\n".join(out)
