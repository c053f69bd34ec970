"""Conformance: which tests prove which requirement of docs/requirements.md."""

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
