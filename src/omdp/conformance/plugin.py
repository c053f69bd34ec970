"""pytest plugin: record which requirement ids each test names, and how it ended.

Activate with ``-p omdp.conformance.plugin``; write the report with
``--conformance-report DIR`` (``DIR/conformance.json`` and ``DIR/conformance.md``). Without the
option the plugin only collects and writes nothing.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from omdp.conformance.report import (
    FAILED,
    PASSED,
    SKIPPED,
    CaseRecord,
    build_report,
    ids_in,
    render_markdown,
)

_RECORDS = pytest.StashKey[dict[str, CaseRecord]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--conformance-report DIR``."""
    group = parser.getgroup("omdp-conformance")
    group.addoption(
        "--conformance-report",
        metavar="DIR",
        default=None,
        help="Write conformance.json and conformance.md (requirement id -> tests) into DIR.",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Start with no records."""
    config.stash[_RECORDS] = {}


def _docstrings(item: pytest.Item) -> list[str]:
    texts: list[str] = []
    function = getattr(item, "function", None)
    if function is not None:
        texts.append(inspect.getdoc(function) or "")
    cls = getattr(item, "cls", None)
    if cls is not None:
        texts.append(inspect.getdoc(cls) or "")
    module = getattr(item, "module", None)
    if module is not None:
        texts.append(module.__doc__ or "")
    return texts


def pytest_collection_finish(session: pytest.Session) -> None:
    """Record every selected test with the ids of its name, class and docstrings."""
    records = session.config.stash[_RECORDS]
    for item in session.items:
        names = [item.name, getattr(item, "originalname", item.name)]
        cls = getattr(item, "cls", None)
        if cls is not None:
            names.append(cls.__name__)
        records[item.nodeid] = CaseRecord(
            item.nodeid, ids_in(*_docstrings(item), names=names), outcome=SKIPPED
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Fold each phase's outcome into the test's record."""
    report = yield
    assert isinstance(report, pytest.TestReport)  # noqa: S101 - pytest's contract
    record = item.config.stash[_RECORDS].get(item.nodeid)
    if record is None:
        return report
    if report.when == "setup" and report.passed:
        record.outcome = PASSED  # runs from here on; skipped until then
    if report.failed:
        record.merge(FAILED)
    elif report.skipped:
        record.merge(SKIPPED)
    del call
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report when ``--conformance-report`` names a folder."""
    del exitstatus
    folder = session.config.getoption("--conformance-report")
    if not folder or hasattr(session.config, "workerinput"):  # xdist workers: only the main
        return
    records = session.config.stash.get(_RECORDS, {})
    if session.config.option.collectonly:
        return
    report = build_report(records.values())
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "conformance.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    (out / "conformance.md").write_text(render_markdown(report) + "\n")
    gaps = report.gaps
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line(
            f"conformance: {len(report.requirements)} requirement ids, {report.tests} tests, "
            f"gaps: {', '.join(gaps) if gaps else 'none'} -> {out / 'conformance.md'}"
        )
