"""Pure parts of the API: bulk link signing, pseudonyms, tokens, default mappings, hashes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from omdp.auth.principal import Scope, hash_token
from omdp.auth.settings import ApiTokenGrant
from omdp.auth.static import StaticTokenAuthenticator
from omdp.cloud.api.bulk import LinkSigner
from omdp.cloud.api.credentials import check_password, hash_password
from omdp.cloud.api.errors import Forbidden
from omdp.cloud.api.privacy import Pseudonymiser
from omdp.cloud.api.routes.adapter_config import default_source
from omdp.cloud.model import ReadingFilter, ValueFilter

FLT = ReadingFilter(
    start=datetime(2024, 1, 1, tzinfo=UTC),
    end=None,
    meter_ids=("m-1", "m-2"),
    filters=(ValueFilter("OBIS_1.7.0", greater_than=0.5, text_equal_to=None),),
    properties=("OBIS_1.7.0",),
)


def test_cl5_bulk_token_round_trip() -> None:
    """CL-5: a token gives back exactly the selection it was made for."""
    signer = LinkSigner(b"k", ttl_s=60)
    claims = signer.verify(signer.sign(FLT, limit=7, pseudonymise=True, subject="s"))
    assert claims.flt == FLT
    assert claims.limit == 7
    assert claims.pseudonymise


def test_cl5_bulk_token_tampered_wrong_key_expired() -> None:
    """CL-5: altered, foreign and expired tokens are refused with the reason."""
    signer = LinkSigner(b"k", ttl_s=60)
    token = signer.sign(FLT, limit=None, pseudonymise=False, subject="s")
    with pytest.raises(Forbidden, match="signature"):
        signer.verify("x" + token)
    with pytest.raises(Forbidden, match="signature"):
        LinkSigner(b"other", ttl_s=60).verify(token)
    with pytest.raises(Forbidden, match="expired"):
        signer.verify(token, now=datetime.now(UTC).timestamp() + 61)
    with pytest.raises(Forbidden):
        signer.verify("no-dot-at-all")


def test_cl13_pseudonyms_are_keyed_stable_and_resolvable() -> None:
    """CL-13: pseudonyms are stable per meter, differ by key, and map back on the server."""
    p = Pseudonymiser(b"key")
    assert p("m-1") == p("m-1")
    assert p("m-1") != p("m-2")
    assert p("m-1") != Pseudonymiser(b"other")("m-1")
    assert p("m-1").startswith("pseu-")
    assert len(p("m-1")) == 37
    assert p.resolve([p("m-2")], ["m-1", "m-2", "m-3"]) == ["m-2"]


def test_cl6_static_tokens() -> None:
    """CL-6: tokens are known by their hash; unknown ones give no principal."""
    grants = {hash_token("t1"): ApiTokenGrant(subject="a", scopes=["readings:read"])}
    auth = StaticTokenAuthenticator(grants)
    principal = asyncio.run(auth.authenticate("t1"))
    assert principal is not None
    assert principal.has(Scope.READ)
    assert not principal.has(Scope.DELETE)
    assert asyncio.run(auth.authenticate("t2")) is None


@pytest.mark.parametrize(
    ("prop", "source"),
    [
        ("OBIS_1.8.0", "1-0:1.8.0"),
        ("OBIS_32.7.0", "1-0:32.7.0"),
        ("WATER_volume", "$.WATER_volume"),
    ],
)
def test_cl10_default_sources(prop: str, source: str) -> None:
    """CL-10: OBIS_C.D.E is read from 1-0:C.D.E by default."""
    assert default_source(prop) == source


def test_cl10_password_hash_in_mosquitto_format() -> None:
    """CL-10: device passwords are kept as Mosquitto $7$ PBKDF2-SHA512 hashes only."""
    hashed = hash_password("secret")
    assert hashed.startswith("$7$")
    assert check_password("secret", hashed)
    assert not check_password("wrong", hashed)
