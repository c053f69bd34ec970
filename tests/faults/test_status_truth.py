"""``omdp status`` against a real chain: "not good" while the store is away, "all good" after.

The issue's operator saw "all good" for 25 s after PostgreSQL came back while nothing was
stored. Here PostgreSQL stops while readings flow: the ingest receives and cannot store, the
edge's readings wait for their receipts; ``omdp status`` (the real command, two ingests given)
names both and exits 1. Once PostgreSQL is back and everything drained, it exits 0. It reads
the edge's alerts with a token of the edge (``--edge-token``, an ``api.tokens`` entry as
``omdp edge token`` makes it): without one the edge refuses them, which is a problem too.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from omdp.auth.principal import hash_token
from omdp.testing.services import PostgresCluster
from tests.faults.chain import Chain, SimAdapters, readings, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

EDGE_TOKEN = "status-truth-edge-token"  # noqa: S105 - no real secret
EDGE_API = {"tokens": {hash_token(EDGE_TOKEN): {"subject": "monitoring", "scopes": ["operate"]}}}


@pytest.fixture
def own_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of this test alone."""
    cluster = PostgresCluster().start()
    yield cluster
    cluster.destroy()


def _status(chain: Chain, *extra: str) -> subprocess.CompletedProcess[str]:
    edge = f"http://127.0.0.1:{chain.http_port}"
    args = [sys.executable, "-m", "omdp", "status", "--edge", edge, "--edge-token", EDGE_TOKEN]
    for ingest in chain.ingests:
        args += ["--ingest", f"http://127.0.0.1:{ingest.metrics_port}/metrics"]
    return subprocess.run(
        [*args, "--sample", "2", *extra], capture_output=True, text=True, timeout=60, check=False
    )


def test_status_is_not_good_while_the_store_is_away(
    make_chain: Callable[..., Chain], own_cluster: PostgresCluster
) -> None:
    """CO-2, CL-1: store stopped: the ingest that gets the readings is stalled (received, not
    stored) and the edge holds readings without receipts for longer than --max-unreceipted;
    exit 1, "not good". Store back and drained: exit 0, "all good"."""
    chain = make_chain(
        db_url=own_cluster.create_database(),
        ingests=2,
        ingest={"shared_group": "omdp-ingest"},
        edge={"api": EDGE_API},
    )
    sent = readings(900, prefix="status")
    adapters = SimAdapters(chain.local.port)
    try:
        adapters.start(sent[:300], rate=100)
        adapters.join(60)
        chain.wait_stored((r for _, _, r in sent[:300]), timeout=60)
        own_cluster.stop("immediate")
        adapters.start(sent[300:600], rate=100)
        adapters.join(60)
        time.sleep(6)  # older than --max-unreceipted 5
        away = _status(chain, "--max-unreceipted", "5")
        own_cluster.start()
        adapters.start(sent[600:], rate=100)
        adapters.join(60)
    finally:
        adapters.close()
    chain.wait_stored((r for _, _, r in sent), timeout=120)
    wait_until(lambda: _status(chain).returncode == 0, 60, "omdp status to say all good", 1.0)
    back = _status(chain)
    print(away.stdout[-3000:], back.stdout[-1500:], sep="\n")
    assert away.returncode == 1
    assert "stalled:" in away.stdout
    assert "not yet receipted by the cloud" in away.stdout
    assert "not good" in away.stdout
    assert back.returncode == 0, back.stdout
    assert "all good" in back.stdout
    account = chain.account("store away, status asked", (r for _, _, r in sent))
    assert account.lost == []
