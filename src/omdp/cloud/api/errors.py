"""One error format for every answer that is not a success, and the one handler that makes it.

Every error body is ``{"detail": [{"loc": "$.readingTimeEnd", "msg": "...", "type": "..."}]}``:
``loc`` is a JSON path into the request body (``$.x``), or ``query.x``, ``path.x``, ``header.x``
for the other parts of a request, or ``$`` when no part is to blame.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from omdp.cloud.storage.port import RegistryError
from omdp.errors import OmdpError, StorageError

log = logging.getLogger(__name__)


class ErrorItem(BaseModel):
    """One reason a request was not served."""

    loc: str = Field(description="Where: $.field (body), query.x, path.x, header.x or $.")
    msg: str = Field(description="Why, in words.")
    type: str = Field(description="A stable machine-readable kind, e.g. privacy.too_few_rows.")


class ErrorBody(BaseModel):
    """The body of every error answer."""

    detail: list[ErrorItem]


class ApiError(OmdpError):
    """An error answered with ``status`` and one :class:`ErrorItem`."""

    status = 400
    kind = "bad_request"

    def __init__(self, msg: str, *, loc: str = "$", kind: str | None = None) -> None:
        """Say why (``msg``), where (``loc``) and optionally a more precise ``kind``."""
        super().__init__(msg)
        self.msg = msg
        self.loc = loc
        self.kind = kind or type(self).kind

    def __str__(self) -> str:
        return f"{self.loc}: {self.msg}"


class Unauthenticated(ApiError):
    """No or an unknown bearer token (401)."""

    status = 401
    kind = "auth.unauthenticated"


class Forbidden(ApiError):
    """The caller lacks a right, or privacy forbids the answer (403)."""

    status = 403
    kind = "auth.forbidden"


class NotFound(ApiError):
    """No such object (404)."""

    status = 404
    kind = "not_found"


class Conflict(ApiError):
    """The object exists already, or the change breaks the registry's relations (409)."""

    status = 409
    kind = "conflict"


class Invalid(ApiError):
    """The request is well-formed but its content is not acceptable (422)."""

    status = 422
    kind = "invalid"


def _loc(parts: Sequence[Any]) -> str:
    if not parts:
        return "$"
    head, *rest = parts
    path = "$" if head == "body" else str(head)
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _body(items: list[ErrorItem]) -> dict[str, Any]:
    return ErrorBody(detail=items).model_dump()


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)  # noqa: S101 - registered for ApiError only
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    item = ErrorItem(loc=exc.loc, msg=exc.msg, type=exc.kind)
    return JSONResponse(_body([item]), status_code=exc.status, headers=headers)


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    items = [
        ErrorItem(
            loc=_loc(err.get("loc", ())),
            msg=str(err.get("msg", "invalid")).removeprefix("Value error, "),
            type=str(err.get("type", "invalid")),
        )
        for err in exc.errors()
    ]
    return JSONResponse(_body(items), status_code=422)


async def _on_http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    item = ErrorItem(loc="$", msg=str(exc.detail), type=f"http.{exc.status_code}")
    return JSONResponse(_body([item]), status_code=exc.status_code, headers=exc.headers)


async def _on_storage(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, RegistryError):
        item = ErrorItem(loc="$", msg=str(exc), type="registry.conflict")
        return JSONResponse(_body([item]), status_code=409)
    log.error("storage failed: %s", exc, exc_info=exc)
    item = ErrorItem(loc="$", msg="the store is unavailable", type="storage.unavailable")
    return JSONResponse(_body([item]), status_code=503)


def install_error_handlers(app: FastAPI) -> None:
    """Map request validation, HTTP and domain errors onto the one error body."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(StorageError, _on_storage)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the error body for ``codes``."""
    texts = {
        401: "No or an unknown bearer token.",
        403: "A right is missing, or privacy forbids the answer (the reason says which).",
        404: "No such object.",
        409: "The object exists already or the change breaks the registry's relations.",
        422: "The request is invalid: each item names the field and the reason.",
        503: "The store is unavailable.",
    }
    return {c: {"model": ErrorBody, "description": texts[c]} for c in codes}
