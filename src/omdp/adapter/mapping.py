"""From a meter sample to property values (AD-2, AD-3).

A :class:`Mapper` is built once from the adapter file's ``OperationalPropertyMapping`` and
``StaticValues`` and the catalogue: every ``to`` must be a known property, every ``from`` a valid
selector, and every explicit unit convertible into one of the property's allowed units; a file
that breaks any of these is refused at start with a :class:`~omdp.errors.ConfigError` that names
the entry. Mapping a sample then only picks, scales and converts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from omdp.adapter.samples import MeterSample
from omdp.adapter.selectors import Selector, parse_selector
from omdp.catalog import Catalog, CatalogEntry
from omdp.domain.adapter_file import PropertyMapping, StaticValue
from omdp.domain.reading import PropertyValue
from omdp.domain.units import canonical_unit, convert
from omdp.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MappingRule:
    """One compiled ``{from, to}`` entry."""

    source: str
    selector: Selector
    target: CatalogEntry
    unit: str | None
    scale: float


@dataclass(frozen=True, slots=True)
class MappedValues:
    """The property values of one sample, and what could not be mapped."""

    values: tuple[PropertyValue, ...]
    missing: tuple[str, ...]
    unconvertible: tuple[str, ...]


def _target_unit(rule_unit: str | None, entry: CatalogEntry, where: str) -> str | None:
    if rule_unit is None:
        return entry.allowed_units[0] if entry.allowed_units else None
    if entry.allowed_units and canonical_unit(rule_unit) not in {
        canonical_unit(u) for u in entry.allowed_units
    }:
        allowed = ", ".join(entry.allowed_units)
        msg = f"{where}: unit {rule_unit!r} is not an allowed unit of {entry.id} ({allowed})"
        raise ConfigError(msg)
    return rule_unit


class Mapper:
    """Maps samples of one meter onto operational properties."""

    def __init__(
        self,
        mappings: list[PropertyMapping],
        static_values: list[StaticValue],
        catalog: Catalog,
    ) -> None:
        rules = []
        for index, mapping in enumerate(mappings):
            where = f"OperationalPropertyMapping[{index}] ({mapping.source} -> {mapping.target})"
            entry = catalog.get(mapping.target)
            if entry is None:
                msg = f"{where}: unknown operational property {mapping.target!r}"
                raise ConfigError(msg)
            try:
                selector = parse_selector(mapping.source)
            except ConfigError as exc:
                msg = f"{where}: {exc}"
                raise ConfigError(msg) from None
            unit = _target_unit(mapping.unit, entry, where)
            rules.append(MappingRule(mapping.source, selector, entry, unit, mapping.scale))
        self.rules = tuple(rules)
        self.static = tuple(self._static_values(static_values, catalog))

    @staticmethod
    def _static_values(static_values: list[StaticValue], catalog: Catalog) -> list[PropertyValue]:
        out = []
        for index, static in enumerate(static_values):
            where = f"StaticValues[{index}] ({static.to})"
            entry = catalog.get(static.to)
            if entry is None:
                msg = f"{where}: unknown operational property {static.to!r}"
                raise ConfigError(msg)
            if static.numerical_value is None and static.text_value is None:
                msg = f"{where}: needs numericalValue or textValue"
                raise ConfigError(msg)
            out.append(
                PropertyValue(
                    unit=static.unit or (entry.allowed_units[0] if entry.allowed_units else None),
                    numerical_value=static.numerical_value,
                    text_value=static.text_value,
                    operational_property_definition=entry.definition(),
                )
            )
        return out

    def map(self, sample: MeterSample, *, default_date: datetime | None = None) -> MappedValues:
        """The property values of ``sample``, then the static values (AD-3)."""
        values: list[PropertyValue] = []
        missing: list[str] = []
        unconvertible: list[str] = []
        for rule in self.rules:
            picked = rule.selector.pick(sample)
            if picked is None:
                missing.append(rule.source)
                continue
            value = picked.value
            unit = rule.unit
            if isinstance(value, str):
                text: str | None = value
                number: float | None = None
            else:
                text = None
                number = float(value) * rule.scale
                if picked.unit is not None and unit is not None:
                    converted = convert(number, picked.unit, unit)
                    if converted is None:
                        unconvertible.append(f"{rule.source}: {picked.unit} -> {unit}")
                        continue
                    number = converted
                elif picked.unit is not None:
                    unit = picked.unit
            values.append(
                PropertyValue(
                    unit=unit,
                    date=picked.timestamp or default_date,
                    numerical_value=number,
                    text_value=text,
                    operational_property_definition=rule.target.definition(),
                )
            )
        values.extend(self.static)
        return MappedValues(tuple(values), tuple(missing), tuple(unconvertible))
