"""``omdp edge``: run the concentrator / IoT edge (CO-1..CO-4, APP-1, APP-4); make tokens for
the query API of a no-cloud edge (CL-6)."""

from __future__ import annotations

import asyncio
import secrets
import signal
from pathlib import Path

import click
import yaml
from pydantic import ValidationError

from omdp.auth.principal import Scope, hash_token
from omdp.auth.settings import ApiTokenGrant
from omdp.edge.settings import EdgeSettings
from omdp.errors import OmdpError
from omdp.ops.bounded_run import run_bounded
from omdp.settings import load_settings


@click.group()
def edge() -> None:
    """The concentrator / IoT edge: forward, keep live data, raise local alerts."""


@edge.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The edge's YAML settings; OMDP_EDGE_* environment variables override it.",
)
def run(config_file: Path | None) -> None:
    """Forward smartMeterMessage/# from the local broker to the cloud, losing nothing.

    Every message is stored in the on-disk outbox before it is acknowledged, and leaves it only
    when its destination holds it: the cloud ingest's receipt after its commit (not the cloud
    broker's acknowledgement), or, with `store:` set (no cloud), the commit into the edge's own
    store, whose query API the edge then serves.
    With `adapters:` the adapter files run inside this process (`local: null`: no broker).
    Serves live data, alerts and metrics over HTTP. SIGTERM or Ctrl-C stop it in order; a
    SIGKILL loses nothing that was acknowledged.
    """
    from omdp.edge.main import run_edge
    from omdp.ops.gc_tuning import tune_for_throughput

    try:
        settings = load_settings(EdgeSettings, config_file)
    except OmdpError as exc:
        raise click.ClickException(str(exc)) from None

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tune_for_throughput()
        await run_edge(settings, stop=stop)

    try:
        run_bounded(main())
    except* OmdpError as group:
        raise click.ClickException("; ".join(str(e) for e in group.exceptions)) from None


HOUSEHOLD_SCOPES = ("operate",)
"""What README's no-cloud section gives a household on its own edge: real ids, any result size."""


@edge.command()
@click.option(
    "--scope",
    "scopes",
    type=click.Choice([s.value for s in Scope]),
    multiple=True,
    default=HOUSEHOLD_SCOPES,
    show_default=True,
    help="A right of the token; repeat for several.",
)
@click.option(
    "--household",
    default=None,
    help="Bind the token to this household (household_id). With --scope readings:read (and "
    "not operate, which sees every household) it sees only that household's meters: their "
    "live data, alerts and, on a no-cloud edge, their history.",
)
@click.option(
    "--subject",
    default="household",
    show_default=True,
    help="Who the token stands for (the API's audit records).",
)
def token(scopes: tuple[str, ...], household: str | None, subject: str) -> None:
    """Make a bearer token for an edge's API: live data and alerts, and the query API of a
    no-cloud edge.

    Prints the token, shown this once, and the entry for api.tokens in the edge's YAML: the
    token's SHA-256 and what it may do; the edge never stores the token itself. Restart the
    edge to take the entry. The whole output is YAML. The default, operate, sees every meter
    of the edge: for the operator and omdp status --edge-token; a household gets
    --scope readings:read --household.

    \b
    omdp edge token --subject monitoring               # operate: every meter
    omdp edge token --scope readings:read --household flat-12
    """
    try:
        grant = ApiTokenGrant(
            subject=subject, scopes=list(dict.fromkeys(scopes)), household_id=household
        )
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        msg = f"not a valid token entry: {problems}"
        raise click.ClickException(msg) from None
    if household is not None and "operate" in grant.scopes:
        click.echo("note: operate sees every household; --household does not confine it", err=True)
    secret = secrets.token_urlsafe(32)
    entry = yaml.safe_dump(
        grant.model_dump(mode="json", exclude_none=True),
        default_flow_style=True,
        sort_keys=False,
        width=1_000_000,
    ).strip()
    click.echo("# the bearer token, shown once: keep it (Authorization: Bearer <token>)")
    click.echo(yaml.safe_dump({"token": secret}).strip())
    click.echo("# add this entry under api.tokens in the edge's YAML, then restart the edge:")
    click.echo("api:\n  tokens:")
    click.echo(f"    {hash_token(secret)}: {entry}")
