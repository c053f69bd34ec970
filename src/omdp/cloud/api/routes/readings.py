"""``/v1/meterReadings`` (CL-3, CL-4, CL-5, CL-8, CL-11) and the bulk downloads it links to."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from omdp.auth.principal import Principal
from omdp.cloud.api import bulk
from omdp.cloud.api.checks import reject_nul, require_properties
from omdp.cloud.api.deps import ApiContext, CtxDep, DeleterDep, ReaderDep
from omdp.cloud.api.errors import NotFound, error_responses
from omdp.cloud.api.examples import QUERY_EXAMPLES, RESPONSE_EXAMPLES
from omdp.cloud.api.privacy import require_enough_rows, select_meters
from omdp.cloud.model import ReadingFilter, ValueFilter
from omdp.domain.identifiers import IDENTIFIER_PATTERN
from omdp.domain.query import ReadingsQuery, ReadingsResponse, ResultForm

router = APIRouter(prefix="/v1", tags=["readings"])

#: Page size of a paged query that names only pageNumber.
DEFAULT_PAGE_SIZE = 1000

QUERY_TEXT = """Readings of the meters the caller may see, in the specification's structure.

- **Time**: readings with `readingTime` in [`readingTimeStart`, `readingTimeEnd`); either bound
  may be absent. `readingTimeEnd` before `readingTimeStart` is refused (422).
- **Values**: each entry of `operationalProperties` keeps only readings that have a value of
  `specificPropertyName` satisfying *all* of that entry's conditions (`numericalValueGreaterThan`,
  `numericalValueLessThan`, `numericalValueEqualTo`, `textValueEqualTo`; an entry without
  conditions keeps readings that have the property). Entries combine with AND. The returned
  `propertyValues` are those of the named properties, or all properties when none are named.
  An unknown property is refused (422).
- **Size**: `maxRows` caps the whole result; `pageNumber` (from 0) and `pageSize` (default
  1000, at most 10000) page it in the stable order (readingTime, meter, reading id). `page` is
  the number of the page returned, as the specification defines it.
- **Form** (CL-5): `resultForm` `json` (default) or `bulk`. An unpaged result of more than the
  server's limit (`api.json_max_rows`, 10000) is answered with `linkToBulk` instead: a signed
  link, valid for an hour, that streams the result as NDJSON, CSV or Parquet.
- **Extensions**: fields the specification does not define, which a client generated from it
  ignores: `resultForm` in the request; in the response `pageSize`, `totalRows` (readings in the
  whole capped result), `totalPages` and `resultForm` (`json` or `bulk`, as answered).
- **Privacy** (CL-8, CL-9, CL-13): a household owner sees only their household's meters; an
  operator sees all; both see real meter ids. Any other caller sees meter ids as stable
  pseudonyms (`pseu-...`), names meters in `meterIds` by those pseudonyms, may not name a
  household, and is refused (403, `privacy.too_few_rows`) a result of fewer than 20 readings.

Needs the scope `readings:read`.
"""


@dataclass(frozen=True, slots=True)
class _Plan:
    flt: ReadingFilter
    total: int
    rename: bulk.Rename | None


def _plan(ctx: ApiContext, principal: Principal, body: ReadingsQuery) -> _Plan:
    store = ctx.store
    entries = body.operational_properties or []
    require_properties(
        store,
        [
            (f"$.operationalProperties[{i}].specificPropertyName", f.specific_property_name)
            for i, f in enumerate(entries)
        ],
    )
    scope = select_meters(
        store,
        principal,
        ctx.pseudonymise,
        meter_ids=body.meter_ids,
        household_id=body.household_id,
    )
    names = tuple(dict.fromkeys(f.specific_property_name for f in entries))
    flt = ReadingFilter(
        start=body.reading_time_start,
        end=body.reading_time_end,
        meter_ids=scope.meter_ids,
        filters=tuple(ValueFilter.from_query(f) for f in entries),
        properties=names or None,
    )
    total = store.count_readings(flt)
    if body.max_rows is not None:
        total = min(total, body.max_rows)
    require_enough_rows(total, ctx.settings.api.min_result_rows, scope)
    return _Plan(flt, total, None if scope.entitled else ctx.pseudonymise)


def _page(ctx: ApiContext, body: ReadingsQuery, plan: _Plan) -> dict[str, Any]:
    paged = body.page_number is not None or body.page_size is not None
    size = body.page_size or (DEFAULT_PAGE_SIZE if paged else max(plan.total, 1))
    number = body.page_number or 0
    offset = number * size
    readings = []
    if offset < plan.total:
        limit = min(size, plan.total - offset)
        readings = list(ctx.store.query_readings(plan.flt, limit=limit, offset=offset))
    return {
        "page": number,
        "content": [bulk.reading_dict(r, plan.rename) for r in readings],
        "pageSize": size,
        "totalRows": plan.total,
        "totalPages": math.ceil(plan.total / size),
        "resultForm": ResultForm.JSON,
    }


@router.post(
    "/meterReadings",
    summary="Query meter readings (CL-3, CL-4, CL-5)",
    description=QUERY_TEXT,
    response_model=ReadingsResponse,
    response_model_exclude_none=True,
    responses={
        200: {
            "description": "A page of readings, or a bulk link.",
            "content": {"application/json": {"examples": RESPONSE_EXAMPLES}},
        },
        **error_responses(401, 403, 404, 422),
    },
)
def query_readings(
    body: Annotated[ReadingsQuery, QUERY_EXAMPLES],
    principal: ReaderDep,
    ctx: CtxDep,
    request: Request,
) -> Response:
    """Answer a CL-3 query."""
    reject_nul(body)
    plan = _plan(ctx, principal, body)
    paged = body.page_number is not None or body.page_size is not None
    too_big = not paged and plan.total > ctx.settings.api.json_max_rows
    if body.result_form is ResultForm.BULK or too_big:
        token = ctx.signer.sign(
            plan.flt,
            limit=body.max_rows,
            pseudonymise=plan.rename is not None,
            subject=principal.subject,
        )
        link = str(request.url_for("bulk_download", token=token)) + "?format=ndjson"
        answer = {"linkToBulk": link, "totalRows": plan.total, "resultForm": ResultForm.BULK}
        return Response(orjson.dumps(answer), media_type="application/json")
    answer = _page(ctx, body, plan)
    return Response(orjson.dumps(answer), media_type="application/json")


def _delete(ctx: ApiContext, principal: Principal, reading_id: str) -> bool:
    """Delete the reading if the caller may; False when it is unknown or not theirs."""
    if not principal.operator and principal.household_id is not None:
        reading = ctx.store.get_reading(reading_id)
        meter = None if reading is None else ctx.store.get_meter(reading.meter_id)
        if meter is None or meter.household_id != principal.household_id:
            return False
    return ctx.store.delete_reading(reading_id)


@router.delete(
    "/meterReadings",
    summary="Delete one reading (CL-11)",
    description=(
        "Deletes the reading whose `meterReadingIdentifier` is `id`; the rollups of its buckets "
        "follow. Needs `readings:delete`; a household owner may delete only readings of their "
        "own meters (others are answered 404, as unknown ones)."
    ),
    status_code=204,
    responses={204: {"description": "Deleted."}, **error_responses(401, 403, 404, 422)},
)
def delete_reading(
    principal: DeleterDep,
    ctx: CtxDep,
    id: Annotated[
        str, Query(pattern=IDENTIFIER_PATTERN, description="The reading's meterReadingIdentifier.")
    ],
) -> Response:
    """Delete one reading."""
    if not _delete(ctx, principal, id):
        msg = f"no reading {id!r}"
        raise NotFound(msg, loc="query.id")
    return Response(status_code=204)


@router.get(
    "/bulk/{token}",
    name="bulk_download",
    summary="Download a bulk result (CL-5)",
    description=(
        "Streams the result a query answered with `linkToBulk`, as NDJSON (one CL-4 reading per "
        "line), CSV or Parquet (one row per property value: readingTime, meterId, propertyName, "
        "numericalValue, textValue, unit). The link is the credential: opaque (AEAD-encrypted, "
        "naming nothing of the query) and expiring; a tampered or expired link is answered 403 "
        "with the reason."
    ),
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The result, streamed.",
            "content": {m: {} for m in bulk.MEDIA_TYPES.values()},
        },
        **error_responses(403, 422),
    },
)
async def bulk_download(
    ctx: CtxDep,
    token: Annotated[str, Path(max_length=16_000, description="The signed token of the link.")],
    format: Annotated[
        bulk.BulkFormat, Query(description="ndjson (default), csv or parquet.")
    ] = bulk.BulkFormat.NDJSON,
) -> StreamingResponse:
    """Stream one bulk result."""
    claims = ctx.signer.verify(token)
    rename = ctx.pseudonymise if claims.pseudonymise else None
    readings = ctx.store.query_readings(claims.flt, limit=claims.limit)
    chunks = bulk.encode(format, readings, rename, row_group=ctx.settings.api.parquet_row_group)
    suffix = {"ndjson": "ndjson", "csv": "csv", "parquet": "parquet"}[format.value]
    return StreamingResponse(
        chunks,
        media_type=bulk.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="omdp-readings.{suffix}"'},
    )
