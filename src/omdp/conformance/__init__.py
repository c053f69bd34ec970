"""Conformance: which tests prove which requirement of the specification (docs SPEC.md)."""

from omdp.conformance.report import (
    REQUIREMENT_IDS,
    CaseRecord,
    Report,
    build_report,
    ids_in,
    render_markdown,
)

__all__ = [
    "REQUIREMENT_IDS",
    "CaseRecord",
    "Report",
    "build_report",
    "ids_in",
    "render_markdown",
]
