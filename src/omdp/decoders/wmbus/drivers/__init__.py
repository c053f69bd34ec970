"""Declarative drivers: one small YAML file per meter family, read by one generic engine.

A driver says which telegrams it applies to (``detect``: manufacturer, version, device type,
CI, security, any of them left out matches anything) and how to read named values from them
(``fields``), and carries its own test telegrams with the values expected (``tests``). Records
the generic decoder reads need no driver; drivers are for manufacturer-specific data:

- ``from: payload``: the application data after the last header (for CI 0xA0-0xB7 all of it;
  for Diehl PRIOS telegrams unscrambled), ``from: manufacturer``: the data after a ``0F``/``1F``
  DIF, ``from: record``: the data bytes of the first record whose DIF/VIF bytes are ``dv``.
- the raw number is ``le`` or ``be`` (``[offset, length]``, unsigned; ``signed: true``),
  ``bcd`` (``[offset, length]``, least significant byte first) or ``parts`` (``[[offset, mask,
  shift], ...]`` ORed together, shift left, negative right: nibbles and packed 12-bit values);
- then ``add`` before ``pow2`` (``2 ** raw``), and ``scale``; ``min_length`` skips a field when
  the data is shorter (older firmware);
- or ``calc``: an arithmetic expression over the fields before it (:mod:`.expr`), for values a
  meter sends as differences, packed history or conditional layouts; ``hidden: true`` keeps a
  field out of the output (an intermediate).

Each value is ``(number, unit, quantity)``; the JSON output lists it as a record with its name.
Files live in ``data/``; :func:`drivers` loads and checks them once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import yaml

from omdp.decoders.mbus.header import manufacturer_code
from omdp.decoders.wmbus.drivers.expr import Expression

if TYPE_CHECKING:
    from omdp.decoders.wmbus.model import Telegram

SOURCES: Final = ("payload", "manufacturer", "record")
FIELD_KEYS: Final = frozenset(
    {
        "name", "quantity", "unit", "from", "parts", "le", "be", "bcd", "signed", "dv", "add",
        "pow2", "scale", "min_length", "calc", "hidden",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Detect:
    """Which telegrams a driver applies to; ``None`` matches anything."""

    manufacturer: int | None = None
    version: int | None = None
    device_type: int | None = None
    ci: frozenset[int] | None = None
    security: str | None = None

    def matches(self, tele: Telegram) -> bool:
        """Return whether the telegram's link layer (and CI) fit."""
        link = tele.link
        return (
            (self.manufacturer is None or self.manufacturer == link.manufacturer_code)
            and (self.version is None or self.version == link.version)
            and (self.device_type is None or self.device_type == link.device_type)
            and (self.ci is None or tele.ci in self.ci)
            and (self.security is None or tele.security == self.security)
        )


@dataclass(frozen=True, slots=True)
class Field:
    """One named value: where its bytes are, how they make a number, its unit."""

    name: str
    quantity: str
    unit: str
    source: str
    parts: tuple[tuple[int, int, int], ...] = ()
    le: tuple[int, int] | None = None
    be: tuple[int, int] | None = None
    bcd: tuple[int, int] | None = None
    signed: bool = False
    dv: bytes = b""
    add: float = 0.0
    pow2: bool = False
    scale: float = 1.0
    min_length: int = 0
    calc: Expression | None = None
    hidden: bool = False

    def raw(self, data: bytes) -> int | None:
        """Return the raw number from ``data``, or ``None`` when the data is too short."""
        if len(data) < self.min_length:
            return None
        if self.le is not None or self.be is not None:
            at, n = self.le if self.le is not None else self.be  # type: ignore[misc]
            if at + n > len(data):
                return None
            chunk = data[at : at + n]
            if self.le is not None:
                return int.from_bytes(chunk, "little", signed=self.signed)
            return int.from_bytes(chunk, "big", signed=self.signed)
        if self.bcd is not None:
            at, n = self.bcd
            if at + n > len(data):
                return None
            digits = data[at : at + n][::-1].hex()
            return int(digits) if digits.isdigit() else None
        value = 0
        for at, mask, shift in self.parts:
            if at >= len(data):
                return None
            bits = data[at] & mask
            value |= bits << shift if shift >= 0 else bits >> -shift
        return value

    def value(self, data: bytes) -> float | int | None:
        """Return the value in the field's unit."""
        raw = self.raw(data)
        if raw is None:
            return None
        number: float | int = raw + self.add if self.add else raw
        if self.pow2:
            number = 2**number
        if self.scale != 1.0:
            number = round(number * self.scale, 9)
        return number


@dataclass(frozen=True, slots=True)
class Driver:
    """A meter family: detection, fields, and the test telegrams it ships with."""

    name: str
    description: str
    detect: tuple[Detect, ...]
    fields: tuple[Field, ...]
    tests: tuple[Mapping[str, Any], ...] = ()

    def applies(self, tele: Telegram) -> bool:
        """Return whether any detection rule fits the telegram."""
        return any(d.matches(tele) for d in self.detect)

    def values(self, tele: Telegram) -> dict[str, tuple[float | int, str, str]]:
        """Return the named values this driver reads from a telegram (hidden ones left out)."""
        known: dict[str, float | int] = {}
        out: dict[str, tuple[float | int, str, str]] = {}
        for f in self.fields:
            if f.calc is not None:
                value = f.calc.evaluate(known)
                if value is not None and f.scale != 1.0:
                    value = round(value * f.scale, 9)
            else:
                data = _data(tele, f)
                value = f.value(data) if data is not None else None
            if value is None:
                continue
            known[f.name] = value
            if not f.hidden:
                out[f.name] = (value, f.unit, f.quantity)
        return out


def _data(tele: Telegram, f: Field) -> bytes | None:
    if f.source == "payload":
        return tele.payload
    for record in tele.records:
        if f.source == "manufacturer" and record.function in (
            "manufacturerSpecific",
            "moreRecordsFollow",
        ):
            return record.data
        if f.source == "record" and record.dib + record.vib == f.dv:
            return record.data
    return None


def _pair(value: Any) -> tuple[int, int] | None:
    return (int(value[0]), int(value[1])) if value is not None else None


def _field(doc: Mapping[str, Any], known: frozenset[str]) -> Field:
    unknown = sorted(set(doc) - FIELD_KEYS)
    if unknown:
        msg = f"field {doc.get('name')}: unknown key(s) {', '.join(unknown)}"
        raise ValueError(msg)
    source = str(doc.get("from", "payload"))
    if source not in SOURCES:
        msg = f"field {doc.get('name')}: from must be one of {', '.join(SOURCES)}"
        raise ValueError(msg)
    return Field(
        name=str(doc["name"]),
        quantity=str(doc.get("quantity", "")),
        unit=str(doc.get("unit", "")),
        source=source,
        parts=tuple((int(a), int(m), int(s)) for a, m, s in doc.get("parts", ())),
        le=_pair(doc.get("le")),
        be=_pair(doc.get("be")),
        bcd=_pair(doc.get("bcd")),
        signed=bool(doc.get("signed", False)),
        dv=bytes.fromhex(str(doc.get("dv", ""))),
        add=float(doc.get("add", 0)),
        pow2=bool(doc.get("pow2", False)),
        scale=float(doc.get("scale", 1.0)),
        min_length=int(doc.get("min_length", 0)),
        calc=Expression(str(doc["calc"]), known) if "calc" in doc else None,
        hidden=bool(doc.get("hidden", False)),
    )


def _detect(doc: Mapping[str, Any]) -> Detect:
    man = doc.get("manufacturer")
    ci = doc.get("ci")
    return Detect(
        manufacturer_code(str(man)) if man is not None else None,
        doc.get("version"),
        doc.get("device_type"),
        frozenset(ci if isinstance(ci, list) else [ci]) if ci is not None else None,
        doc.get("security"),
    )


def load_driver(text: str) -> Driver:
    """Return a driver from the text of its YAML file.

    Raises:
        ValueError: the file lacks a name, detection or fields, or a field is malformed.
    """
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not doc.get("detect") or not doc.get("fields"):
        msg = "a driver needs name, detect and fields"
        raise ValueError(msg)
    fields: list[Field] = []
    for f in doc["fields"]:
        fields.append(_field(f, frozenset(x.name for x in fields)))
    return Driver(
        name=str(doc["name"]),
        description=str(doc.get("description", "")),
        detect=tuple(_detect(d) for d in doc["detect"]),
        fields=tuple(fields),
        tests=tuple(doc.get("tests", ())),
    )


@cache
def drivers() -> tuple[Driver, ...]:
    """Return every shipped driver, in file name order."""
    folder = resources.files("omdp.decoders.wmbus.drivers") / "data"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)
    return tuple(load_driver(p.read_text("utf-8")) for p in files)


@cache
def _by_manufacturer() -> Mapping[int | None, tuple[Driver, ...]]:
    table: dict[int | None, list[Driver]] = {}
    for driver in drivers():
        for man in {d.manufacturer for d in driver.detect}:
            table.setdefault(man, []).append(driver)
    return MappingProxyType({k: tuple(v) for k, v in table.items()})


def find_driver(tele: Telegram) -> Driver | None:
    """Return the first driver that applies to a telegram."""
    table = _by_manufacturer()
    candidates: Sequence[Driver] = table.get(tele.link.manufacturer_code, ()) + table.get(None, ())
    for driver in candidates:
        if driver.applies(tele):
            return driver
    return None


def apply_driver(tele: Telegram) -> Telegram:
    """Return the telegram with the named values of the driver that applies to it, if any."""
    driver = find_driver(tele)
    if driver is None:
        return tele
    values = driver.values(tele)
    return replace(tele, driver=driver.name, values=MappingProxyType(values))


__all__ = ["Driver", "Field", "apply_driver", "drivers", "find_driver", "load_driver"]
