"""Concurrent creates of one registry id: exactly one 201, every other request 409.

Requirement ids: DM-4 (operational properties), DM-5 (physical meter elements), DM-6 (meter
individuals and their households): each id names one entry, also when several API servers
create it at the same moment. Identical bodies give 409 as well (a create is not an upsert).

Several apps, each over a store object of its own (its own connections) on the same database,
stand for several API processes; the requests of one round are released together by a barrier.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from tests.integration.api.apidata import Api, TestClient, make_settings, seed

from omdp.cloud.api.app import create_app
from omdp.cloud.storage import open_store

pytestmark = pytest.mark.integration

V1 = "/api/v1"
SERVERS = 4
ROUNDS = 6
REG = {"Authorization": "Bearer reg"}


@pytest.fixture
def servers(store_url: str, tmp_path: Path) -> Iterator[list[Api]]:
    """Several API apps, each over its own store object on one seeded database."""
    settings = make_settings(tmp_path, store_url)
    with ExitStack() as stack:
        apis = []
        for n in range(SERVERS):
            store = open_store(store_url)
            stack.callback(store.close)
            if n == 0:
                seed(store)
            client = stack.enter_context(TestClient(create_app(settings, store)))
            apis.append(Api(client, store, settings))
        yield apis


def _race(servers: list[Api], path: str, body: dict[str, object]) -> Counter[int]:
    """POST ``body`` to ``path`` on every server at once; the status codes, counted."""
    barrier = threading.Barrier(len(servers))

    def post(api: Api) -> int:
        barrier.wait()
        return api.client.post(f"{V1}/{path}", json=body, headers=REG).status_code

    with ThreadPoolExecutor(len(servers)) as pool:
        return Counter(pool.map(post, servers))


def _element(element_id: str, *properties: str) -> dict[str, object]:
    return {
        "physicalElementId": element_id,
        "physicalMeterClass": "ELECTRICITY",
        "physicalMeterOperationalProperties": [{"propertyId": p} for p in properties],
    }


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("households", lambda i: {"householdId": f"h-race-{i}", "timezone": "Europe/Vienna"}),
        ("operationalProperties", lambda i: {"propertyId": f"RACE_{i}", "kind": "cumulative"}),
        ("physicalMeterElements", lambda i: _element(f"el-race-{i}", f"RACE_EL_{i}")),
        (
            "meterIndividuals",
            lambda i: {
                "meterIndividualId": f"m-race-{i}",
                "householdId": "h-one",
                "physicalMeterType": _element(f"el-m-{i}", "OBIS_1.8.0"),
            },
        ),
    ],
    ids=["household", "property", "element", "meter"],
)
def test_dm4_dm5_dm6_concurrent_duplicate_creates_give_one_201(
    servers: list[Api], path: str, body: Callable[[int], dict[str, object]]
) -> None:
    """DM-4..DM-6: of simultaneous POSTs of one id, one creates it and the others get 409."""
    for n, api in enumerate(servers):  # one request each first: the apps build lazily
        assert api.client.post(f"{V1}/{path}", json=body(1000 + n), headers=REG).status_code == 201
    for i in range(ROUNDS):
        statuses = _race(servers, path, body(i))
        assert statuses == Counter({201: 1, 409: SERVERS - 1}), (path, i, statuses)


def test_dm6_a_meter_of_an_unknown_household_is_refused_whole(servers: list[Api]) -> None:
    """DM-6: a meter naming an unknown household gets 422 and leaves nothing behind (its
    embedded element is not stored either)."""
    api = servers[0]
    body = {
        "meterIndividualId": "m-orphan",
        "householdId": "h-none",
        "physicalMeterType": _element("el-orphan", "OBIS_1.8.0"),
    }
    r = api.client.post(f"{V1}/meterIndividuals", json=body, headers=REG)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == "$.householdId"
    assert api.store.get_meter("m-orphan") is None
    assert api.store.get_element("el-orphan") is None
