"""``omdp conformance``: which tests prove which requirement, and which requirements have none."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from omdp.conformance.report import Report, render_table


@click.command()
@click.option("--run", "run_tests", is_flag=True, help="Run pytest with the plugin first.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("conformance"),
    show_default=True,
    help="Folder of conformance.json and conformance.md.",
)
@click.option(
    "--pytest-args",
    default="tests",
    show_default=True,
    help="What pytest runs with --run (e.g. 'tests/unit' or 'tests -m \"not e2e\"').",
)
def conformance(run_tests: bool, out: Path, pytest_args: str) -> None:
    """Print the requirement table (DM-, AD-, CO-, CM-, CL-, APP- ids) from OUT/conformance.json.

    With --run, run the tests first (python -m pytest -p omdp.conformance.plugin
    --conformance-report OUT ...). Exit 1 when a requirement's test failed; gaps (ids no test
    names) are listed, not fatal.
    """
    if run_tests:
        import shlex

        command = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "omdp.conformance.plugin",
            f"--conformance-report={out}",
            "-q",
            *shlex.split(pytest_args),
        ]
        click.echo("running: " + " ".join(command[1:]), err=True)
        subprocess.run(command, check=False)  # noqa: S603 - our interpreter, pytest
    source = out / "conformance.json"
    if not source.is_file():
        click.echo(f"omdp conformance: {source} not found (run with --run)", err=True)
        sys.exit(2)
    report = Report.from_json(json.loads(source.read_text()))
    for line in render_table(report):
        click.echo(line)
    click.echo(f"details: {out / 'conformance.md'}")
    if any(entry["status"] == "failed" for entry in report.requirements.values()):
        sys.exit(1)
