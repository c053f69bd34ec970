"""Checks every request body gets beyond its schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from omdp.cloud.api.errors import Invalid
from omdp.cloud.storage.port import Registry


def _walk(value: Any, loc: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            msg = "text must not contain the NUL character"
            raise Invalid(msg, loc=loc, kind="value_error.nul")
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{loc}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, f"{loc}[{index}]")


def reject_nul(body: BaseModel) -> None:
    """Refuse text with NUL characters, which no store can keep (422).

    Raises:
        Invalid: naming the first field that holds one.
    """
    _walk(body.model_dump(by_alias=True, mode="python"), "$")


def require_properties(store: Registry, names: list[tuple[str, str]]) -> None:
    """Refuse unknown operational properties; ``names`` holds ``(loc, property id)`` pairs.

    Raises:
        Invalid: naming the first unknown property.
    """
    for loc, name in names:
        if store.get_property(name) is None:
            msg = f"unknown operational property {name!r} (see /v1/operationalProperties)"
            raise Invalid(msg, loc=loc, kind="value_error.unknown_property")
