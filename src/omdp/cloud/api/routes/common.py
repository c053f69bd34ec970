"""Parameters and helpers shared by the endpoints."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Annotated, TypeVar

from fastapi import Path, Query

from omdp.cloud.api.errors import Conflict, Invalid, NotFound
from omdp.cloud.services.registry import NotRegistered, Taken
from omdp.cloud.storage.port import MissingReference
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


@contextlib.contextmanager
def registry_answers(*, taken: str = "$", missing: str = "$") -> Iterator[None]:
    """Answer a registry service's refusals: a taken id 409 at ``taken``, an unknown entry
    404 at ``missing``, a reference to an unknown entry 422 at its field."""
    try:
        yield
    except Taken as exc:
        raise Conflict(str(exc), loc=taken) from exc
    except NotRegistered as exc:
        raise NotFound(str(exc), loc=missing) from exc
    except MissingReference as exc:
        raise Invalid(str(exc), loc=f"$.{exc.field}") from exc
