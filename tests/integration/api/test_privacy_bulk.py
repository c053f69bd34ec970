"""Privacy (CL-8, CL-9, CL-13) and bulk downloads (CL-5) over real stores."""

from __future__ import annotations

import csv
import io
import time

import orjson
import pyarrow.parquet as pq
import pytest
from tests.integration.api.apidata import METERS, STEPS, Api

from omdp.cloud.api.privacy import Pseudonymiser

pytestmark = pytest.mark.integration

URL = "/api/v1/meterReadings"
FEW = {"readingTimeStart": "2024-03-01T00:00:00Z", "readingTimeEnd": "2024-03-01T01:00:00Z"}


def test_cl8_small_results_refused_to_researchers(api: Api) -> None:
    """CL-8: a result of fewer than 20 readings is refused (403) to a caller not entitled."""
    r = api.client.post(URL, json=FEW, headers=api.as_("res"))  # 12 readings
    assert r.status_code == 403
    (item,) = r.json()["detail"]
    assert item["type"] == "privacy.too_few_rows"
    assert "fewer than 20" in item["msg"]
    capped = api.client.post(URL, json={"maxRows": 19}, headers=api.as_("res"))
    assert capped.status_code == 403
    assert api.client.post(URL, json={"maxRows": 20}, headers=api.as_("res")).status_code == 200


def test_cl8_owner_and_operator_are_entitled(api: Api) -> None:
    """CL-8: the owner of the one household in the result and operators get small results."""
    for token in ("owner1", "op"):
        r = api.client.post(URL, json=FEW, headers=api.as_(token))
        assert r.status_code == 200, (token, r.text)


def test_cl9_owner_sees_only_own_household_with_real_ids(api: Api) -> None:
    """CL-9: an owner's query is confined to their household; ids are real."""
    r = api.client.post(URL, json={"pageSize": 1000}, headers=api.as_("owner1")).json()
    assert {c["meterId"] for c in r["content"]} == {"m-a", "m-b"}
    other = api.client.post(URL, json={"householdId": "h-two"}, headers=api.as_("owner1"))
    assert other.status_code == 403


def test_cl13_researchers_see_stable_pseudonyms(api: Api) -> None:
    """CL-13: data leaving to callers who are not entitled carries pseudonymous meter ids."""
    r = api.client.post(URL, json={"pageSize": 1000}, headers=api.as_("res")).json()
    ids = {c["meterId"] for c in r["content"]}
    expected = Pseudonymiser(b"test-pseudonym-key")
    assert ids == {expected(m) for m in METERS}
    assert all(i.startswith("pseu-") for i in ids)
    again = api.client.post(URL, json={"pageSize": 5}, headers=api.as_("res")).json()
    assert again["content"][0]["meterId"] == r["content"][0]["meterId"]
    one = api.client.post(
        URL, json={"meterIds": [expected("m-c")], "pageSize": 100}, headers=api.as_("res")
    ).json()
    assert {c["meterId"] for c in one["content"]} == {expected("m-c")}
    assert one["totalRows"] == STEPS
    refused = api.client.post(URL, json={"householdId": "h-one"}, headers=api.as_("res"))
    assert refused.status_code == 403


def _link(api: Api, token: str = "op", **extra: object) -> str:  # noqa: S107
    r = api.client.post(URL, json={"resultForm": "bulk", **extra}, headers=api.as_(token))
    assert r.status_code == 200, r.text
    link: str = r.json()["linkToBulk"]
    return link


def test_cl5_bulk_ndjson_csv_parquet(api: Api) -> None:
    """CL-5: the bulk link streams the whole result as NDJSON, CSV or Parquet."""
    link = _link(api, maxRows=100)
    lines = api.client.get(link).content.splitlines()
    assert len(lines) == 100
    first = orjson.loads(lines[0])
    assert first["meterId"] == "m-a"
    assert len(first["propertyValues"]) == 3
    r = api.client.get(link.replace("format=ndjson", "format=csv"))
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 300
    assert rows[0]["propertyName"] == "OBIS_1.8.0"
    r = api.client.get(link.replace("format=ndjson", "format=parquet"))
    table = pq.read_table(io.BytesIO(r.content))
    assert table.num_rows == 300
    assert table.column_names[:3] == ["readingTime", "meterId", "propertyName"]


def test_cl5_bulk_keeps_pseudonyms(api: Api) -> None:
    """CL-5, CL-13: a researcher's bulk download carries pseudonyms as its JSON would."""
    lines = api.client.get(_link(api, "res")).content.splitlines()
    assert len(lines) == STEPS * 3
    assert all(orjson.loads(x)["meterId"].startswith("pseu-") for x in lines)


def test_cl5_tampered_or_expired_link_is_403(api: Api) -> None:
    """CL-5: a tampered link and an expired one are refused with the reason."""
    link = _link(api)
    head, _, tail = link.partition("/bulk/")
    token, _, query = tail.partition("?")
    body, _, mac = token.partition(".")
    forged = f"{head}/bulk/{body[:-2]}AA.{mac}?{query}"
    r = api.client.get(forged)
    assert r.status_code == 403
    assert r.json()["detail"][0]["type"] == "bulk.bad_signature"
    signer = api.client.app.state.ctx.signer  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="expired"):
        signer.verify(token, now=time.time() + 10 * 86400)


def test_cl5_bad_format_is_422(api: Api) -> None:
    """CL-5: an unknown download format is a 422 naming query.format."""
    r = api.client.get(_link(api).replace("format=ndjson", "format=xls"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == "query.format"
