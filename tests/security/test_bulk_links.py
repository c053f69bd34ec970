"""Finding 4: a bulk link reveals nothing (CL-5, CL-8, CL-13): opaque, expiring, downloadable.

A researcher sees meters only under pseudonyms; the link the API answers a bulk query with must
not carry the real ids it selects (nor anything else of the query) in any decodable form, and
must still stream the result to a plain download tool until it expires.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from omdp.cloud.model import StoredReading, StoredValue
from tests.integration.api.apidata import TestClient
from tests.security.site import Site, bearer, cloud_app

pytestmark = pytest.mark.integration

DAY = datetime(2024, 3, 1, tzinfo=UTC)


def _seed(site: Site) -> None:
    site.store.write_batch(
        [
            StoredReading(
                reading_id=f"r-{meter}-{step}",
                meter_id=meter,
                reading_time=DAY + timedelta(minutes=15 * step),
                values=(StoredValue("OBIS_1.8.0", 100.0 + step, unit="kWh"),),
            )
            for meter in ("m-one", "m-two")
            for step in range(30)
        ]
    )


def _decodings(token: str) -> list[bytes]:
    """Every way a reader might try to read a token: its text, base64 of each part, zlib."""
    found = [token.encode()]
    for part in token.replace(".", "~").split("~"):
        for pad in range(3):
            try:
                raw = base64.urlsafe_b64decode(part + "=" * pad)
            except (binascii.Error, ValueError):
                continue
            found.append(raw)
            for offset in range(min(len(raw), 40)):
                try:
                    found.append(zlib.decompressobj().decompress(raw[offset:]))
                except zlib.error:
                    continue
    return found


def test_cl8_researcher_bulk_link_names_no_real_id(site: Site) -> None:
    """CL-5, CL-8, CL-13: a researcher's bulk link for meters named by pseudonym holds neither
    the real meter ids nor the query in any decodable form, yet streams the pseudonymised
    result; an altered link and an expired one are refused (403)."""
    _seed(site)
    app = cloud_app(site)
    with TestClient(app) as client:
        r = client.post(
            "/oauth/token",
            data={"grant_type": "password", "username": "rita", "password": "rita-pw-12"},
        )
        token = r.json()["access_token"]
        pseudonym = app.state.ctx.pseudonymise("m-one")
        answer = client.post(
            "/v1/meterReadings",
            json={"meterIds": [pseudonym], "resultForm": "bulk"},
            headers=bearer(token),
        )
        assert answer.status_code == 200, answer.text
        link = answer.json()["linkToBulk"]
        opaque = urlsplit(link).path.rsplit("/", 1)[1]
        for text in _decodings(opaque):
            for secret in (b"m-one", b"m-two", b"rita", b"2024-03"):
                assert secret not in text, (secret, text[:80])
        download = client.get(urlsplit(link).path + "?format=ndjson")  # no token: the link is it
        assert download.status_code == 200
        assert download.text.count("\n") == 30
        assert pseudonym in download.text
        assert "m-one" not in download.text
        flipped = opaque[:-3] + ("A" if opaque[-3] != "A" else "B") + opaque[-2:]
        altered = client.get(f"/v1/bulk/{flipped}")
        assert altered.status_code == 403
        signer = app.state.ctx.signer
        with pytest.raises(Exception, match="expired"):
            signer.verify(opaque, now=datetime.now(UTC).timestamp() + 7200)
