"""The operational-property catalogue (DM-4): shared property ids, their units and meaning.

Shipped catalogues (package data, see README.md for the fixes applied to the published files):

- ``energy``: the specification's OBIS catalogue for electricity;
- ``water``: the specification's water catalogue;
- ``omdp-extensions``: deployment-level properties for heat and gas meters, which the shared
  catalogue does not have yet (DM-4 allows a deployment its own, to be replaced later).

A deployment adds its own properties from JSON or YAML files of the same shape
(``{"properties": [{"id", "description", "allowedUnits"}]}``) with :meth:`Catalog.load`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from omdp.domain.identifiers import IDENTIFIER_RULE, is_identifier
from omdp.domain.reading import MeterClass, OperationalPropertyDefinition
from omdp.errors import CatalogError

SHIPPED = ("energy", "water", "extensions")


class PropertyKind(StrEnum):
    """How values of a property behave over time; rollups treat them differently."""

    CUMULATIVE = "cumulative"  # a register that only grows: consumption is a difference
    INSTANTANEOUS = "instantaneous"  # power, voltage, temperature: mean, min, max
    DEMAND = "demand"  # maximum or period demand
    STATE = "state"  # counters, events, settings, text


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One operational property of a catalogue."""

    id: str
    description: str | None
    allowed_units: tuple[str, ...]
    catalogue: str
    meter_classes: tuple[MeterClass, ...]
    kind: PropertyKind

    def definition(self) -> OperationalPropertyDefinition:
        """The property as it travels in a MeterReading."""
        return OperationalPropertyDefinition(
            property_id=self.id,
            property_description=self.description,
            allowed_units=list(self.allowed_units) or None,
        )


_CUMULATIVE_TEXT = ("cumulative", "volume of water")


def _kind_of(prop_id: str, description: str | None) -> PropertyKind:
    text = (description or "").lower()
    if prop_id.startswith("OBIS_"):
        groups = prop_id.removeprefix("OBIS_").split(".")
        if len(groups) == 3 and groups[0].isdigit():
            if groups[1] == "8":
                return PropertyKind.CUMULATIVE
            if groups[1] == "7":
                return PropertyKind.INSTANTANEOUS
            if groups[1] in {"2", "4", "5", "6"}:
                return PropertyKind.DEMAND
        return PropertyKind.STATE
    if any(word in text for word in _CUMULATIVE_TEXT):
        return PropertyKind.CUMULATIVE
    if prop_id == "HOUSEHOLD_size":
        return PropertyKind.STATE
    return PropertyKind.INSTANTANEOUS


def _classes_of(prop_id: str) -> tuple[MeterClass, ...]:
    prefix = prop_id.split("_", 1)[0]
    return {
        "OBIS": (MeterClass.ELECTRICITY,),
        "WATER": (MeterClass.WATER,),
        "HEAT": (MeterClass.HEAT,),
        "GAS": (MeterClass.GAS,),
    }.get(prefix, tuple(MeterClass))


def _entries(doc: Any, origin: str) -> Iterator[CatalogEntry]:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("properties"), list):
        msg = f"{origin}: a catalogue is an object with a list 'properties'"
        raise CatalogError(msg)
    name = str(doc.get("catalogue", origin))
    for index, raw in enumerate(doc["properties"]):
        where = f"{origin}: properties[{index}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            msg = f"{where}: each property needs a string 'id'"
            raise CatalogError(msg)
        prop_id = raw["id"]
        if not is_identifier(prop_id):
            msg = f"{where}: id {prop_id!r} is not a valid identifier ({IDENTIFIER_RULE})"
            raise CatalogError(msg)
        units = raw.get("allowedUnits") or []
        if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
            msg = f"{where}: allowedUnits must be a list of strings"
            raise CatalogError(msg)
        description = raw.get("description") or raw.get("propertyDescription")
        classes = raw.get("meterClasses")
        yield CatalogEntry(
            id=prop_id,
            description=str(description) if description is not None else None,
            allowed_units=tuple(units),
            catalogue=name,
            meter_classes=tuple(MeterClass(c) for c in classes)
            if classes
            else _classes_of(prop_id),
            kind=PropertyKind(raw["kind"]) if "kind" in raw else _kind_of(prop_id, description),
        )


def _read_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"{path}: cannot read catalogue: {exc.strerror}"
        raise CatalogError(msg) from exc
    try:
        return yaml.safe_load(text) if path.suffix in {".yaml", ".yml"} else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        msg = f"{path}: not valid {'YAML' if path.suffix in {'.yaml', '.yml'} else 'JSON'}: {exc}"
        raise CatalogError(msg) from exc


class Catalog:
    """A read-only set of operational properties, looked up by id."""

    __slots__ = ("_by_id",)

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        by_id: dict[str, CatalogEntry] = {}
        for entry in entries:
            if entry.id in by_id:
                msg = f"property {entry.id} is defined twice ({by_id[entry.id].catalogue}, "
                msg += f"{entry.catalogue})"
                raise CatalogError(msg)
            by_id[entry.id] = entry
        self._by_id: Mapping[str, CatalogEntry] = MappingProxyType(by_id)

    @classmethod
    def load(cls, extra_files: Iterable[str | Path] = ()) -> Catalog:
        """The shipped catalogues plus a deployment's own files (JSON or YAML)."""
        entries: list[CatalogEntry] = []
        data = resources.files("omdp.catalog") / "data"
        for name in SHIPPED:
            doc = json.loads((data / f"{name}.json").read_text(encoding="utf-8"))
            entries.extend(_entries(doc, name))
        for file in extra_files:
            path = Path(file)
            entries.extend(_entries(_read_file(path), str(path)))
        return cls(entries)

    def get(self, prop_id: str) -> CatalogEntry | None:
        """The property with this id, or None."""
        return self._by_id.get(prop_id)

    def __getitem__(self, prop_id: str) -> CatalogEntry:
        try:
            return self._by_id[prop_id]
        except KeyError:
            msg = f"unknown operational property {prop_id!r}"
            raise CatalogError(msg) from None

    def __contains__(self, prop_id: object) -> bool:
        return prop_id in self._by_id

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def search(
        self, *, meter_class: MeterClass | None = None, text: str | None = None
    ) -> list[CatalogEntry]:
        """Properties for a meter class whose id or description contains ``text``."""
        needle = (text or "").lower()
        return [
            e
            for e in self
            if (meter_class is None or meter_class in e.meter_classes)
            and (not needle or needle in e.id.lower() or needle in (e.description or "").lower())
        ]


_DEFAULT: Catalog | None = None


def default_catalog() -> Catalog:
    """The shipped catalogues, loaded once per process."""
    global _DEFAULT  # noqa: PLW0603 - a process-wide read-only cache
    if _DEFAULT is None:
        _DEFAULT = Catalog.load()
    return _DEFAULT
