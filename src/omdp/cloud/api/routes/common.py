"""Parameters and helpers shared by the list endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import Path, Query

from omdp.cloud.api.errors import Invalid
from omdp.domain.identifiers import IDENTIFIER_PATTERN

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")]


def id_path(alias: str, what: str) -> object:
    """A path parameter holding an identifier, named ``alias`` in the URL."""
    return Path(alias=alias, pattern=IDENTIFIER_PATTERN, description=f"The {what}'s id.")


def window(items: Sequence[T], limit: int, offset: int) -> dict[str, object]:
    """``{items, total}`` of one page of ``items``."""
    return {"items": list(items[offset : offset + limit]), "total": len(items)}


def same_id(path_id: str, body_id: str, field: str) -> None:
    """Refuse a body whose id differs from the one in the path (422)."""
    if path_id != body_id:
        msg = f"{field} {body_id!r} differs from the id in the path {path_id!r}"
        raise Invalid(msg, loc=f"$.{field}")
