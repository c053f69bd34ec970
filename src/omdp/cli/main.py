"""The ``omdp`` command: one entry point, subcommands loaded lazily.

Each subcommand lives in its own module under :mod:`omdp.cli` and is imported only when it is
called, so that ``omdp --help`` and ``omdp validate`` start fast whatever the other commands need.
A later component adds itself by one line in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from omdp import __version__
from omdp.logs import configure_logging

#: subcommand name -> (module, attribute, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("omdp.cli.validate_cmd", "validate", "Validate MeterReading JSON files."),
    "schema": ("omdp.cli.schema_cmd", "schema", "Print a published JSON Schema."),
    "catalog": ("omdp.cli.catalog_cmd", "catalog", "List operational properties."),
    "bench": ("omdp.cli.bench_cmd", "bench", "Run benchmarks and print figures."),
    "conformance": (
        "omdp.cli.conformance_cmd",
        "conformance",
        "Requirement-to-test conformance report.",
    ),
    "mbus": ("omdp.cli.mbus_cmd", "mbus", "Decode M-Bus frames and read M-Bus meters."),
    "wmbus": ("omdp.cli.wmbus_cmd", "wmbus", "Decode wireless M-Bus / OMS telegrams."),
    "dsmr": ("omdp.cli.dsmr_cmd", "dsmr", "Decode DSMR P1 telegrams."),
    "sml": ("omdp.cli.sml_cmd", "sml", "Decode SML telegrams."),
    "dlms": ("omdp.cli.dlms_cmd", "dlms", "Decode DLMS/COSEM pushes and D0 readouts."),
    "adapter": ("omdp.cli.adapter_cmd", "adapter", "Run a SmartMeterAdapter: meter to MQTT."),
    "simulate": (
        "omdp.cli.simulate_cmd",
        "simulate",
        "Run simulated meters (M-Bus, DSMR, SML, DLMS).",
    ),
    "edge": ("omdp.cli.edge_cmd", "edge", "Run the concentrator / IoT edge."),
    "demo": ("omdp.cli.demo_cmd", "demo", "Run the whole platform with simulated meters."),
    "status": ("omdp.cli.status_cmd", "status", "Summarise a running site's health."),
    "certs": ("omdp.cli.security_cmd", "certs", "Create a site CA and TLS certificates."),
    "user": ("omdp.cli.security_cmd", "user", "Manage users and service clients of the API."),
    "token": ("omdp.cli.security_cmd", "token", "Issue, revoke and list API tokens; rotate keys."),
    "broker": ("omdp.cli.security_cmd", "broker", "Device credentials and Mosquitto config, ACLs."),
    "adapterfile": (
        "omdp.cli.security_cmd",
        "adapterfile",
        "Sign, verify and encrypt adapter configuration files.",
    ),
    "import": ("omdp.cli.data_cmd", "import_", "Backfill readings from CSV or NDJSON."),
    "export": ("omdp.cli.data_cmd", "export", "Export readings as CSV, NDJSON or Parquet."),
    "cloud": ("omdp.cli.cloud_cmd", "cloud", "Run the cloud: ingest, storage, API."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            module_name, attr, _ = SUBCOMMANDS[cmd_name]
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                msg = f"{module_name}.{attr} is not a click command"
                raise TypeError(msg)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][2]) for name in sorted(SUBCOMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="omdp")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    envvar="OMDP_LOG_FORMAT",
    show_default=True,
    help="Log line format; json gives one JSON object per line.",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    envvar="OMDP_LOG_LEVEL",
    show_default=True,
)
def cli(log_format: str, log_level: str) -> None:
    """omdp, the Open Meter Data Platform.

    Reads smart meters (M-Bus, DSMR P1, SML), forwards their readings over MQTT through an edge
    to the cloud, stores them and serves them to apps.
    """
    configure_logging(json_lines=log_format == "json", level=getattr(logging, log_level.upper()))


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(prog_name="omdp"))
