"""The conformance report: id extraction, gaps, the pytest plugin end to end (CL-15 tooling)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from omdp.cli.conformance_cmd import conformance
from omdp.conformance.report import (
    FAILED,
    PASSED,
    REQUIREMENT_IDS,
    REQUIREMENTS,
    CaseRecord,
    Report,
    build_report,
    ids_in,
    read_requirements,
    render_markdown,
)


def test_every_specification_id_is_listed() -> None:
    """The ids come from docs/requirements.md, each defined once with a title."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "requirements.md").read_text()
    assert read_requirements(text) == REQUIREMENTS
    assert all(text.count(f"- **{rid}** ") == 1 for rid in REQUIREMENT_IDS)
    assert REQUIREMENTS["DM-3"] == "Property values"
    assert len(REQUIREMENT_IDS) == 6 + 6 + 4 + 3 + 15 + 5
    assert REQUIREMENT_IDS[0] == "DM-1"
    assert "CL-15" in REQUIREMENT_IDS
    assert "APP-5" in REQUIREMENT_IDS
    assert "CL-16" not in REQUIREMENT_IDS


def test_ids_in_docstrings_ranges_and_names() -> None:
    assert ids_in("DM-3: a value MUST have ... (CL-1, cl-2)") == ["DM-3", "CL-1", "CL-2"]
    assert ids_in("AD-1..AD-3 and CO-1..2") == ["AD-1", "AD-2", "AD-3", "CO-1", "CO-2"]
    assert ids_in("ADD-1, BAD-1, CL-150, CL-16, DM-0") == []
    assert ids_in(None, names=["test_cl8_small_result_refused", "test_app_4"]) == [
        "CL-8",
        "APP-4",
    ]
    assert ids_in("frame bytes ad12 cl8") == [], "loose forms count in test names only"


def test_report_flags_gaps_and_failures() -> None:
    records = [
        CaseRecord("t.py::a", ["DM-1", "CL-3"], PASSED),
        CaseRecord("t.py::b", ["CL-3"], FAILED),
        CaseRecord("t.py::c", [], PASSED),
    ]
    report = build_report(records)
    assert list(report.requirements) == list(REQUIREMENT_IDS)
    assert report.requirements["DM-1"]["status"] == PASSED
    assert report.requirements["CL-3"]["status"] == FAILED
    assert "DM-2" in report.gaps
    assert "DM-1" not in report.gaps
    assert report.tests == 3
    again = Report.from_json(json.loads(json.dumps(report.to_json())))
    assert again.gaps == report.gaps
    markdown = render_markdown(report)
    assert "| DM-2 | Fault code | **GAP: no test** |" in markdown
    assert "`t.py::b`: failed" in markdown


def test_plugin_writes_the_report(tmp_path: Path) -> None:
    """The plugin in a real pytest run: names, docstrings, outcomes, every id listed."""
    (tmp_path / "test_sample.py").write_text(
        '"""Module docstring names nothing."""\n'
        "import pytest\n\n"
        "def test_dm1_identifier():\n    pass\n\n"
        "def test_time():\n    '''DM-1, CL-3: a docstring names them.'''\n\n"
        "def test_broken():\n    '''CO-2'''\n    assert False\n\n"
        "@pytest.mark.skip(reason='not here')\n"
        "def test_skipped():\n    '''APP-1'''\n"
    )
    out = tmp_path / "report"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "omdp.conformance.plugin",
            f"--conformance-report={out}",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            str(tmp_path / "test_sample.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr  # test_broken fails
    doc = json.loads((out / "conformance.json").read_text())
    assert set(doc["requirements"]) == set(REQUIREMENT_IDS)
    assert doc["requirements"]["DM-1"]["passed"] == 2
    assert doc["requirements"]["CL-3"]["status"] == "passed"
    assert doc["requirements"]["CO-2"]["status"] == "failed"
    assert doc["requirements"]["APP-1"]["status"] == "skipped"
    assert "CM-1" in doc["gaps"]
    assert (out / "conformance.md").read_text().startswith("# Conformance report")

    shown = CliRunner().invoke(conformance, ["--out", str(out)])
    assert shown.exit_code == 1, shown.output  # a requirement's test failed
    assert "CO-2" in shown.output
    assert "gaps (no test)" in shown.output
