"""POST and DELETE /v1/meterReadings over real stores (CL-3, CL-4, CL-5, CL-8, CL-11)."""

from __future__ import annotations

import pytest
from tests.integration.api.apidata import METERS, STEPS, Api, reading_id

pytestmark = pytest.mark.integration

URL = "/api/v1/meterReadings"
MARCH = {"readingTimeStart": "2024-03-01T00:00:00Z", "readingTimeEnd": "2024-03-02T00:00:00Z"}


def test_cl3_time_span_is_half_open(api: Api) -> None:
    """CL-3: readingTime in [readingTimeStart, readingTimeEnd)."""
    body = {
        "readingTimeStart": "2024-03-01T01:00:00+01:00",
        "readingTimeEnd": "2024-03-01T02:00:00Z",
    }
    r = api.client.post(URL, json=body, headers=api.as_("op"))
    assert r.status_code == 200, r.text
    times = {c["readingTime"] for c in r.json()["content"]}
    assert min(times) == "2024-03-01T00:00:00+00:00"
    assert "2024-03-01T02:00:00+00:00" not in times
    assert r.json()["totalRows"] == 8 * len(METERS)  # 8 quarter-hours x 3 meters


def test_cl3_property_filters_and_selected_values(api: Api) -> None:
    """CL-3: an entry keeps readings whose value satisfies all its conditions; CL-4: the
    returned propertyValues are the named properties'."""
    body = {
        **MARCH,
        "operationalProperties": [
            {
                "specificPropertyName": "OBIS_1.7.0",
                "numericalValueGreaterThan": 1,
                "numericalValueLessThan": 3,
            },
            {"specificPropertyName": "SITE_status", "textValueEqualTo": "ok"},
        ],
    }
    r = api.client.post(URL, json=body, headers=api.as_("op"))
    assert r.status_code == 200, r.text
    content = r.json()["content"]
    # step % 4 == 2 (power 2.0) is even, so its status is "check": nothing satisfies both
    assert content == []
    body["operationalProperties"][1]["textValueEqualTo"] = "check"
    content = api.client.post(URL, json=body, headers=api.as_("op")).json()["content"]
    assert len(content) == STEPS // 4 * len(METERS)
    for reading in content:
        names = [v["propertyName"] for v in reading["propertyValues"]]
        assert names == ["OBIS_1.7.0", "SITE_status"]
        assert reading["propertyValues"][0]["numericalValue"] == 2.0
        assert reading["propertyValues"][1] == {
            "propertyName": "SITE_status",
            "textValue": "check",
            "unit": "",
        }


def test_cl4_all_properties_when_none_named(api: Api) -> None:
    """CL-4: the response's structure, with every property when none is named; ``page`` is the
    page's number and our additions are extension fields beside it."""
    r = api.client.post(URL, json={"pageSize": 1}, headers=api.as_("op"))
    assert r.json() == {
        "page": 0,
        "pageSize": 1,
        "totalRows": STEPS * 3,
        "totalPages": STEPS * 3,
        "resultForm": "json",
        "content": [
            {
                "readingTime": "2024-03-01T00:00:00+00:00",
                "meterId": "m-a",
                "propertyValues": [
                    {"propertyName": "OBIS_1.8.0", "numericalValue": 1000.0, "unit": "kWh"},
                    {"propertyName": "OBIS_1.7.0", "numericalValue": 0.0, "unit": "kW"},
                    {"propertyName": "SITE_status", "textValue": "check", "unit": ""},
                ],
            }
        ],
    }


def test_cl3_max_rows_caps_and_pages_are_stable(api: Api) -> None:
    """CL-3: maxRows caps the whole result; pageNumber/pageSize page it in a stable order."""
    seen = []
    for number in range(4):
        body = {"maxRows": 50, "pageSize": 15, "pageNumber": number}
        r = api.client.post(URL, json=body, headers=api.as_("op")).json()
        assert (r["page"], r["pageSize"], r["totalRows"], r["totalPages"]) == (number, 15, 50, 4)
        seen += [(c["readingTime"], c["meterId"]) for c in r["content"]]
    assert len(seen) == 50
    assert seen == sorted(seen)
    assert len(set(seen)) == 50
    beyond = api.client.post(URL, json={"pageSize": 15, "pageNumber": 10**9}, headers=api.as_("op"))
    assert beyond.json()["content"] == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {"readingTimeStart": "2024-03-02T00:00:00Z", "readingTimeEnd": "2024-03-01T00:00:00Z"},
            "$.readingTimeEnd",
        ),
        ({"pageSize": -1}, "$.pageSize"),
        ({"maxRows": 0}, "$.maxRows"),
        ({"readingTimeStart": "2024-03-01T00:00:00"}, "$.readingTimeStart"),
        ({"readingTimeStart": "yesterday"}, "$.readingTimeStart"),
        (
            {"operationalProperties": [{"specificPropertyName": "NOPE_1"}]},
            "$.operationalProperties[0].specificPropertyName",
        ),
        (
            {
                "operationalProperties": [
                    {"specificPropertyName": "SITE_status", "textValueEqualTo": "a\u0000b"}
                ]
            },
            "$.operationalProperties[0].textValueEqualTo",
        ),
    ],
)
def test_cl3_invalid_requests_get_422_with_field(
    api: Api, body: dict[str, object], loc: str
) -> None:
    """CL-3: invalid requests are answered 422 naming the field and the reason."""
    r = api.client.post(URL, json=body, headers=api.as_("op"))
    assert r.status_code == 422, r.text
    (item,) = r.json()["detail"]
    assert item["loc"] == loc
    assert item["msg"]


def test_cl5_bulk_on_request_and_above_limit(api: Api) -> None:
    """CL-5: the caller chooses bulk; above the server's limit an unpaged query gets a link."""
    chosen = api.client.post(URL, json={**MARCH, "resultForm": "bulk"}, headers=api.as_("op"))
    assert set(chosen.json()) == {"linkToBulk", "totalRows", "resultForm"}
    assert chosen.json()["resultForm"] == "bulk"
    big = api.client.post(URL, json={}, headers=api.as_("op"))  # 144 rows > json_max_rows 100
    assert big.json()["resultForm"] == "bulk"
    assert "content" not in big.json()
    small = api.client.post(URL, json={"maxRows": 60}, headers=api.as_("op"))
    assert len(small.json()["content"]) == 60


def test_cl11_delete_one_reading(api: Api) -> None:
    """CL-11: a caller with the delete right deletes one reading; unknown ids are 404."""
    rid = reading_id("m-a", 5)
    assert api.client.delete(URL, params={"id": rid}, headers=api.as_("res")).status_code == 403
    assert api.client.delete(URL, params={"id": rid}, headers=api.as_("op")).status_code == 204
    assert api.store.get_reading(rid) is None
    again = api.client.delete(URL, params={"id": rid}, headers=api.as_("op"))
    assert again.status_code == 404
    assert again.json()["detail"][0]["loc"] == "query.id"
    total = api.client.post(URL, json={"pageSize": 1}, headers=api.as_("op")).json()
    assert total["totalRows"] == STEPS * 3 - 1


def test_cl11_owner_deletes_only_own_readings(api: Api) -> None:
    """CL-11: an owner with the delete right deletes readings of their own meters only."""
    theirs = reading_id("m-c", 1)
    mine = reading_id("m-a", 1)
    assert (
        api.client.delete(URL, params={"id": theirs}, headers=api.as_("owner1")).status_code == 404
    )
    assert api.store.get_reading(theirs) is not None
    assert api.client.delete(URL, params={"id": mine}, headers=api.as_("owner1")).status_code == 204


def test_cl6_tokens_and_scopes(api: Api) -> None:
    """CL-6: no or an unknown token is 401; a missing scope is 403; one error format."""
    assert api.client.post(URL, json={}).status_code == 401
    r = api.client.post(URL, json={}, headers=api.as_("wrong"))
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    r = api.client.post(URL, json={}, headers=api.as_("none"))
    assert r.status_code == 403
    assert r.json()["detail"][0]["type"] == "auth.missing_scope"
