"""Bulk downloads (CL-5): opaque, expiring links that stream a query's result.

A link is ``{base}/v1/bulk/{token}?format=ndjson|csv|parquet``. The token is
``base64url(version || nonce || ChaCha20-Poly1305(key, nonce, zlib(json(claims))))``, an AEAD
encryption under a key derived (HKDF-SHA256) from ``api.bulk_secret``; the claims are the
selection (time span, meters, value filters, properties, row cap), whether meter ids are
pseudonymised, the subject who asked, and the expiry (Unix seconds). Encrypted, not merely
signed: a researcher's link selects real meter ids, and must not tell them (CL-8, CL-13). The
server keeps nothing: an altered or foreign token fails authentication and an old one its
expiry, both with 403 and the reason; the link alone downloads (for curl, wget, a browser).

The download streams the store's iterator in chunks and never holds the result: NDJSON (one
CL-4 reading per line), CSV and Parquet (one row per property value; Parquet by row groups).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import os
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from omdp.cloud.api.errors import Forbidden
from omdp.cloud.model import ReadingFilter, StoredReading, ValueFilter

#: Readings per chunk handed to the server.
CHUNK = 500

Rename = Callable[[str], str]


class BulkFormat(StrEnum):
    """What a bulk link streams."""

    NDJSON = "ndjson"
    CSV = "csv"
    PARQUET = "parquet"


MEDIA_TYPES = {
    BulkFormat.NDJSON: "application/x-ndjson",
    BulkFormat.CSV: "text/csv; charset=utf-8",
    BulkFormat.PARQUET: "application/vnd.apache.parquet",
}


@dataclass(frozen=True, slots=True)
class BulkClaims:
    """What a bulk link grants: one selection, shown one way, until ``expires``."""

    flt: ReadingFilter
    limit: int | None
    pseudonymise: bool
    subject: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


_VERSION = b"\x02"
_NONCE = 12


class LinkSigner:
    """Makes and opens bulk tokens under one server secret (AEAD: sealed, not only signed)."""

    def __init__(self, secret: bytes, *, ttl_s: int) -> None:
        """Seal with a key derived from ``secret``; links live ``ttl_s`` seconds."""
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"omdp bulk link v2")
        self._aead = ChaCha20Poly1305(key.derive(secret))
        self._ttl = ttl_s

    def sign(
        self, flt: ReadingFilter, *, limit: int | None, pseudonymise: bool, subject: str
    ) -> str:
        """An opaque token for this selection, valid for the configured time from now."""
        claims = {
            "s": _iso(flt.start),
            "e": _iso(flt.end),
            "m": flt.meter_ids,
            "f": [
                [f.property_id, f.greater_than, f.less_than, f.equal_to, f.text_equal_to]
                for f in flt.filters
            ],
            "p": flt.properties,
            "l": limit,
            "ps": pseudonymise,
            "sub": subject,
            "x": int(time.time()) + self._ttl,
        }
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, zlib.compress(orjson.dumps(claims), 6), _VERSION)
        return _b64(_VERSION + nonce + sealed)

    def verify(self, token: str, *, now: float | None = None) -> BulkClaims:
        """The claims of a genuine, unexpired token.

        Raises:
            Forbidden: the token is malformed, altered, not ours or expired.
        """
        try:
            raw = _unb64(token)
            if raw[:1] != _VERSION:
                raise InvalidTag
            opened = self._aead.decrypt(raw[1 : 1 + _NONCE], raw[1 + _NONCE :], _VERSION)
        except (InvalidTag, ValueError, binascii.Error):
            msg = "the bulk link's signature does not match: it was altered or is not ours"
            raise Forbidden(msg, loc="path.token", kind="bulk.bad_signature") from None
        try:
            c: dict[str, Any] = orjson.loads(zlib.decompress(opened))
        except (ValueError, zlib.error) as exc:
            msg = "the bulk link is malformed"
            raise Forbidden(msg, loc="path.token", kind="bulk.malformed") from exc
        if (time.time() if now is None else now) >= c["x"]:
            msg = f"the bulk link expired at {datetime.fromtimestamp(c['x']).astimezone()}"
            raise Forbidden(msg, loc="path.token", kind="bulk.expired")
        flt = ReadingFilter(
            start=None if c["s"] is None else datetime.fromisoformat(c["s"]),
            end=None if c["e"] is None else datetime.fromisoformat(c["e"]),
            meter_ids=None if c["m"] is None else tuple(c["m"]),
            filters=tuple(ValueFilter(*f) for f in c["f"]),
            properties=None if c["p"] is None else tuple(c["p"]),
        )
        return BulkClaims(flt, c["l"], bool(c["ps"]), str(c["sub"]), int(c["x"]))


def reading_dict(reading: StoredReading, rename: Rename | None) -> dict[str, Any]:
    """One reading in the CL-4 result structure (absent values left out, the unit never)."""
    values = []
    for v in reading.values:
        item: dict[str, Any] = {"propertyName": v.property_id}
        if v.numerical_value is not None:
            item["numericalValue"] = v.numerical_value
        if v.text_value is not None:
            item["textValue"] = v.text_value
        item["unit"] = v.unit or ""  # CL-4: every value names its unit, empty when none
        values.append(item)
    meter = reading.meter_id if rename is None else rename(reading.meter_id)
    return {"readingTime": reading.reading_time, "meterId": meter, "propertyValues": values}


def _chunks(readings: Iterable[StoredReading]) -> Iterator[list[StoredReading]]:
    chunk: list[StoredReading] = []
    for reading in readings:
        chunk.append(reading)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def ndjson(readings: Iterable[StoredReading], rename: Rename | None) -> Iterator[bytes]:
    """One CL-4 reading per line."""
    for chunk in _chunks(readings):
        yield b"".join(orjson.dumps(reading_dict(r, rename)) + b"\n" for r in chunk)


COLUMNS = ("readingTime", "meterId", "propertyName", "numericalValue", "textValue", "unit")


def _rows(chunk: list[StoredReading], rename: Rename | None) -> Iterator[tuple[Any, ...]]:
    for r in chunk:
        meter = r.meter_id if rename is None else rename(r.meter_id)
        for v in r.values:
            yield r.reading_time, meter, v.property_id, v.numerical_value, v.text_value, v.unit


def csv_rows(readings: Iterable[StoredReading], rename: Rename | None) -> Iterator[bytes]:
    """A header, then one row per property value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for chunk in _chunks(readings):
        for t, meter, pid, num, txt, unit in _rows(chunk, rename):
            writer.writerow(
                (t.isoformat(), meter, pid, "" if num is None else repr(num), txt, unit)
            )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


PARQUET_SCHEMA = pa.schema(
    [
        ("readingTime", pa.timestamp("us", tz="UTC")),
        ("meterId", pa.string()),
        ("propertyName", pa.string()),
        ("numericalValue", pa.float64()),
        ("textValue", pa.string()),
        ("unit", pa.string()),
    ]
)


class _Sink(io.RawIOBase):
    """A write-only file that hands its bytes to whoever drains it."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def parquet(
    readings: Iterable[StoredReading], rename: Rename | None, *, row_group: int
) -> Iterator[bytes]:
    """One row per property value, written and sent one row group at a time."""
    sink = _Sink()
    writer = pq.ParquetWriter(sink, PARQUET_SCHEMA, compression="zstd")
    columns: list[list[Any]] = [[] for _ in COLUMNS]
    for chunk in _chunks(readings):
        for row in _rows(chunk, rename):
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        if len(columns[0]) >= row_group:
            writer.write_table(pa.Table.from_arrays(columns, schema=PARQUET_SCHEMA))
            columns = [[] for _ in COLUMNS]
            yield sink.drain()
    if columns[0]:
        writer.write_table(pa.Table.from_arrays(columns, schema=PARQUET_SCHEMA))
    writer.close()
    yield sink.drain()


def encode(
    fmt: BulkFormat, readings: Iterable[StoredReading], rename: Rename | None, *, row_group: int
) -> Iterator[bytes]:
    """The byte chunks of ``readings`` in ``fmt``."""
    if fmt is BulkFormat.PARQUET:
        return parquet(readings, rename, row_group=row_group)
    if fmt is BulkFormat.CSV:
        return csv_rows(readings, rename)
    return ndjson(readings, rename)
