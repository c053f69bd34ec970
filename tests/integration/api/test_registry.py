"""Registry, erasure, aggregates and operations endpoints over real stores."""

from __future__ import annotations

import pytest
from tests.integration.api.apidata import ELEMENT, STEPS, Api

pytestmark = pytest.mark.integration

V1 = "/api/v1"
HOUSE = {"householdId": "h-new", "timezone": "Europe/Vienna", "householdSize": 3}


def test_households_list_create_update(api: Api) -> None:
    """Households: paginated {items, total}; create (409 when taken), update, read."""
    r = api.client.get(f"{V1}/households", params={"limit": 1}, headers=api.as_("op")).json()
    assert r["total"] == 2
    assert [h["householdId"] for h in r["items"]] == ["h-one"]
    created = api.client.post(f"{V1}/households", json=HOUSE, headers=api.as_("reg"))
    assert created.status_code == 201
    assert (
        api.client.post(f"{V1}/households", json=HOUSE, headers=api.as_("reg")).status_code == 409
    )
    changed = {**HOUSE, "householdSize": 4}
    r = api.client.put(f"{V1}/households/h-new", json=changed, headers=api.as_("reg"))
    assert r.json()["householdSize"] == 4
    mismatch = api.client.put(f"{V1}/households/h-one", json=changed, headers=api.as_("reg"))
    assert mismatch.status_code == 422
    assert api.client.get(f"{V1}/households/h-new", headers=api.as_("op")).status_code == 200
    assert (
        api.client.post(f"{V1}/households", json=HOUSE, headers=api.as_("res")).status_code == 403
    )


def test_cl9_registry_personal_data_only_for_owner_and_operators(api: Api) -> None:
    """CL-9: an owner lists only their household and meters; a researcher none."""
    own = api.client.get(f"{V1}/households", headers=api.as_("owner1")).json()
    assert [h["householdId"] for h in own["items"]] == ["h-one"]
    assert api.client.get(f"{V1}/households/h-two", headers=api.as_("owner1")).status_code == 404
    meters = api.client.get(f"{V1}/meterIndividuals", headers=api.as_("owner1")).json()
    assert [m["meterIndividualId"] for m in meters["items"]] == ["m-a", "m-b"]
    assert api.client.get(f"{V1}/meterIndividuals", headers=api.as_("res")).status_code == 403


def test_meters_filter_create_update(api: Api) -> None:
    """Meter individuals: filtered by household and element; created and updated."""
    r = api.client.get(
        f"{V1}/meterIndividuals", params={"householdId": "h-two"}, headers=api.as_("op")
    ).json()
    assert [m["meterIndividualId"] for m in r["items"]] == ["m-c"]
    assert r["items"][0]["physicalMeterType"]["physicalElementId"] == "el-3ph"
    element = ELEMENT.model_dump(mode="json", by_alias=True)
    body = {"meterIndividualId": "m-new", "householdId": "h-two", "physicalMeterType": element}
    assert (
        api.client.post(f"{V1}/meterIndividuals", json=body, headers=api.as_("reg")).status_code
        == 201
    )
    bad = {"meterIndividualId": "m-bad", "householdId": "h-none"}
    r = api.client.post(f"{V1}/meterIndividuals", json=bad, headers=api.as_("reg"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == "$.householdId"
    renamed = {**body, "meterIndividualName": "Kitchen"}
    r = api.client.put(f"{V1}/meterIndividuals/m-new", json=renamed, headers=api.as_("reg"))
    assert r.json()["meterIndividualName"] == "Kitchen"


def test_elements_and_properties(api: Api) -> None:
    """Physical meter elements and operational properties: readable by any caller."""
    r = api.client.get(
        f"{V1}/physicalMeterElements",
        params={"physicalMeterClass": "ELECTRICITY"},
        headers=api.as_("res"),
    ).json()
    assert r["total"] == 1
    props = api.client.get(
        f"{V1}/operationalProperties", params={"prefix": "OBIS_1.8."}, headers=api.as_("res")
    ).json()
    assert any(p["propertyId"] == "OBIS_1.8.0" for p in props["items"])
    new = {"propertyId": "SITE_boiler_hours", "allowedUnits": ["h"], "kind": "cumulative"}
    assert (
        api.client.post(f"{V1}/operationalProperties", json=new, headers=api.as_("reg")).status_code
        == 201
    )
    got = api.client.get(f"{V1}/operationalProperties/SITE_boiler_hours", headers=api.as_("res"))
    assert got.json()["allowedUnits"] == ["h"]
    element = {
        "physicalElementId": "el-water",
        "physicalMeterClass": "WATER",
        "physicalMeterOperationalProperties": [{"propertyId": "SITE_boiler_hours"}],
    }
    assert (
        api.client.post(
            f"{V1}/physicalMeterElements", json=element, headers=api.as_("reg")
        ).status_code
        == 201
    )
    assert (
        api.client.get(f"{V1}/physicalMeterElements/nope", headers=api.as_("op")).status_code == 404
    )


def test_cl13_erase_meter_and_household(api: Api) -> None:
    """CL-13: erasure on request removes everything and answers the audit record."""
    assert (
        api.client.delete(f"{V1}/meterIndividuals/m-c", headers=api.as_("owner1")).status_code
        == 403
    )
    r = api.client.delete(f"{V1}/meterIndividuals/m-c", headers=api.as_("op"))
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["actor"] == "operator"
    assert record["subjectId"] == "m-c"
    assert record["totalRows"] >= STEPS
    assert api.store.get_meter("m-c") is None
    r = api.client.delete(f"{V1}/households/h-one", headers=api.as_("owner1"))
    assert r.status_code == 200, r.text
    assert r.json()["actor"] == "alice"
    assert api.store.get_household("h-one") is None
    assert api.client.delete(f"{V1}/households/h-one", headers=api.as_("op")).status_code == 404
    left = api.client.post(f"{V1}/meterReadings", json={}, headers=api.as_("op")).json()
    assert left["totalRows"] == 0


def test_aggregates(api: Api) -> None:
    """Aggregates: per meter and bucket from the store's rollups, with the privacy rules."""
    body = {
        "householdId": "h-one",
        "propertyId": "OBIS_1.8.0",
        "interval": "hour",
        "start": "2024-03-01T00:00:00Z",
        "end": "2024-03-01T02:00:00Z",
        "functions": ["consumption", "last"],
    }
    r = api.client.post(f"{V1}/aggregates", json=body, headers=api.as_("owner1"))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 4
    assert items[0]["meterId"] == "m-a"
    assert set(items[0]) == {"meterId", "start", "end", "consumption", "last"}
    assert items[0]["last"] == 1000.75
    refused = api.client.post(f"{V1}/aggregates", json=body, headers=api.as_("res"))
    assert refused.status_code == 403
    bad = {**body, "end": body["start"]}
    assert api.client.post(f"{V1}/aggregates", json=bad, headers=api.as_("op")).status_code == 422


def test_health_ready_metrics_openapi(api: Api) -> None:
    """Operations: liveness, readiness, Prometheus metrics by route, the OpenAPI document."""
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").status_code == 200
    api.client.post(f"{V1}/meterReadings", json={}, headers=api.as_("op"))
    assert api.client.get("/metrics").status_code == 401  # an operator matter
    text = api.client.get("/metrics", headers=api.as_("op")).text
    assert 'route="/api/v1/meterReadings"' in text or 'route="/v1/meterReadings"' in text
    doc = api.client.get("/api/openapi.json").json()
    assert "/api/v1/meterReadings" in doc["paths"]
    assert "/api/v1/adapterConfigurations" in doc["paths"]


def test_me_tells_a_token_its_subject_scopes_and_household(api: Api) -> None:
    """CL-6: GET /v1/me answers any valid token with who it stands for, so that the app can
    show an operator's or a household's views; without a valid token, 401."""
    c = api.client
    owner = c.get("/api/v1/me", headers=api.as_("owner1"))
    assert owner.status_code == 200, owner.text
    assert owner.json() == {
        "subject": "alice",
        "scopes": ["readings:delete", "readings:read"],
        "householdId": "h-one",
        "operator": False,
    }
    operator = c.get("/api/v1/me", headers=api.as_("op")).json()
    assert operator["operator"] is True
    assert "householdId" not in operator
    assert c.get("/api/v1/me", headers=api.as_("none")).json()["scopes"] == []
    assert c.get("/api/v1/me").status_code == 401
    assert c.get("/api/v1/me", headers=api.as_("forged")).status_code == 401
