"""Declarative drivers: one small YAML file per meter family, read by one generic engine.

A driver says which telegrams it applies to (``detect``: manufacturer, version, device type,
CI, security, any of them left out matches anything) and how to read named values from them
(``fields``), and carries its own test telegrams with the values expected (``tests``). Records
the generic decoder reads need no driver; drivers are for manufacturer-specific data:

- ``from: payload``: the application data after the last header (for CI 0xA0-0xB7 all of it;
  for Diehl PRIOS telegrams unscrambled), ``from: manufacturer``: the data after a ``0F``/``1F``
  DIF, ``from: record``: the data bytes of the first record whose DIF/VIF bytes are ``dv``.
- the raw number is ``le`` or ``be`` (``[offset, length]``, unsigned; ``signed: true``; an
  offset below zero counts from the end),
  ``bcd`` (``[offset, length]``, least significant byte first) or ``parts`` (``[[offset, mask,
  shift], ...]`` ORed together, shift left, negative right: nibbles and packed 12-bit values);
- then ``add`` before ``pow2`` (``2 ** raw``), and ``scale``; ``min_length`` skips a field when
  the data is shorter (older firmware);
- ``when``: an expression over the fields before it (:mod:`.expr`): the field is read only
  where it is true (a flag byte says which items follow); ``at``: an expression added to the
  field's offsets (an item behind others of varying presence);
- ``tag``: the field reads the item after that tag byte of a tagged layout the driver declares
  (``tags``, :mod:`.tags`);
- a driver may ``decrypt`` a manufacturer payload first (:mod:`.cipher`);
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
from omdp.decoders.wmbus.drivers.cipher import PayloadCipher, load_cipher
from omdp.decoders.wmbus.drivers.expr import Expression
from omdp.decoders.wmbus.drivers.tags import TagLayout, load_tags
from omdp.decoders.wmbus.identity import meter_behind

if TYPE_CHECKING:
    from omdp.decoders.wmbus.model import Telegram

SOURCES: Final = ("payload", "manufacturer", "record")
FIELD_KEYS: Final = frozenset(
    {
        "name", "quantity", "unit", "from", "parts", "le", "be", "bcd", "signed", "dv", "add",
        "pow2", "scale", "min_length", "calc", "hidden", "when", "at", "tag",
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

    @property
    def specificity(self) -> int:
        """How many things the rule names: where several drivers apply, the most specific
        rule wins (a model's version and device type over a whole manufacturer's CI)."""
        return sum(
            x is not None
            for x in (self.manufacturer, self.version, self.device_type, self.ci, self.security)
        )

    def matches(self, tele: Telegram) -> bool:
        """Return whether the telegram fits: its meter (link layer, or the long transport
        header's meter behind a radio module), its CI and its security."""
        return (
            (self.ci is None or tele.ci in self.ci)
            and (self.security is None or tele.security == self.security)
            and any(self._meter(*who) for who in _meters(tele))
        )

    def _meter(self, manufacturer: int, version: int, device_type: int) -> bool:
        return (
            (self.manufacturer is None or self.manufacturer == manufacturer)
            and (self.version is None or self.version == version)
            and (self.device_type is None or self.device_type == device_type)
        )


def _meters(tele: Telegram) -> list[tuple[int, int, int]]:
    """``(manufacturer, version, device type)`` of the link layer, of the long header and of
    the meter an enhanced identification record names (behind a radio module).

    Bit 15 of the M-field (an address that is not globally unique) is not the manufacturer's.
    """
    link = tele.link
    out = [(link.manufacturer_code & 0x7FFF, link.version, link.device_type)]
    h = tele.tpl.header if tele.tpl else None
    if h is not None and h.manufacturer_code is not None:
        out.append((h.manufacturer_code & 0x7FFF, h.version or 0, h.medium or 0))
    behind = meter_behind(tele.records)
    if behind is not None:
        out.append((behind.manufacturer_code & 0x7FFF, behind.version, behind.device_type))
    return out


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
    when: Expression | None = None
    at: Expression | None = None
    tag: int | None = None

    def raw(self, data: bytes, shift: int = 0) -> int | None:
        """Return the raw number from ``data``, or ``None`` when the data is too short.

        An offset below zero counts from the end of the data (layouts behind a header of
        varying length); ``shift`` is added to every offset (the field's ``at``).
        """
        if len(data) < self.min_length:
            return None
        if self.le is not None or self.be is not None:
            at, n = self.le if self.le is not None else self.be  # type: ignore[misc]
            chunk = _chunk(data, at + shift, n)
            if chunk is None:
                return None
            if self.le is not None:
                return int.from_bytes(chunk, "little", signed=self.signed)
            return int.from_bytes(chunk, "big", signed=self.signed)
        if self.bcd is not None:
            chunk = _chunk(data, self.bcd[0] + shift, self.bcd[1])
            if chunk is None:
                return None
            digits = chunk[::-1].hex()
            return int(digits) if digits.isdigit() else None
        value = 0
        for at, mask, left in self.parts:
            byte = _chunk(data, at + shift, 1)
            if byte is None:
                return None
            bits = byte[0] & mask
            value |= bits << left if left >= 0 else bits >> -left
        return value

    def value(self, data: bytes, shift: int = 0) -> float | int | None:
        """Return the value in the field's unit."""
        raw = self.raw(data, shift)
        if raw is None:
            return None
        number: float | int = raw + self.add if self.add else raw
        if self.pow2:
            number = 2**number
        if self.scale != 1.0:
            number = round(number * self.scale, 9)
        return number


def _chunk(data: bytes, at: int, n: int) -> bytes | None:
    """``n`` bytes at ``at`` (from the end when negative), or ``None`` past either end."""
    start = at + len(data) if at < 0 else at
    if start < 0 or start + n > len(data):
        return None
    return data[start : start + n]


@dataclass(frozen=True, slots=True)
class Driver:
    """A meter family: detection, fields, and the test telegrams it ships with."""

    name: str
    description: str
    detect: tuple[Detect, ...]
    fields: tuple[Field, ...]
    tests: tuple[Mapping[str, Any], ...] = ()
    decrypt: PayloadCipher | None = None
    tags: TagLayout | None = None

    def applies(self, tele: Telegram) -> bool:
        """Return whether any detection rule fits the telegram."""
        return self.fit(tele) is not None

    def fit(self, tele: Telegram) -> int | None:
        """Return the specificity of the most specific rule that fits, or ``None``."""
        fits = [d.specificity for d in self.detect if d.matches(tele)]
        return max(fits) if fits else None

    def values(
        self, tele: Telegram, key: bytes | None = None
    ) -> dict[str, tuple[float | int, str, str]]:
        """Return the named values this driver reads from a telegram (hidden ones left out).

        ``key``: the meter's key, for a driver that decrypts a manufacturer payload; without
        it (or with a wrong one) such a driver reads nothing.
        """
        known: dict[str, float | int] = {}
        out: dict[str, tuple[float | int, str, str]] = {}
        plain = self.decrypt.plain(tele, key) if self.decrypt is not None else None
        if self.decrypt is not None and plain is None:
            return out
        for f in self.fields:
            if f.when is not None and not f.when.evaluate(known):
                continue
            if f.calc is not None:
                value = f.calc.evaluate(known)
                if value is not None and f.scale != 1.0:
                    value = round(value * f.scale, 9)
            else:
                value = self._read(f, plain if f.source == "payload" else None, tele, known)
            if value is None:
                continue
            known[f.name] = value
            if not f.hidden:
                out[f.name] = (value, f.unit, f.quantity)
        return out

    def _read(
        self, f: Field, plain: bytes | None, tele: Telegram, known: Mapping[str, float | int]
    ) -> float | int | None:
        """Read a field from its bytes: the decrypted payload, or its source's data."""
        data = plain if plain is not None else _data(tele, f)
        if data is not None and f.tag is not None and self.tags is not None:
            data = self.tags.item(data, f.tag)
        shift = f.at.evaluate(known) if f.at is not None else 0
        if data is None or shift is None:
            return None
        return f.value(data, int(shift))


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


def _expression(doc: Mapping[str, Any], key: str, known: frozenset[str]) -> Expression | None:
    return Expression(str(doc[key]), known) if key in doc else None


def _field(doc: Mapping[str, Any], known: frozenset[str], *, tagged: bool) -> Field:
    unknown = sorted(set(doc) - FIELD_KEYS)
    if unknown:
        msg = f"field {doc.get('name')}: unknown key(s) {', '.join(unknown)}"
        raise ValueError(msg)
    source = str(doc.get("from", "payload"))
    if source not in SOURCES:
        msg = f"field {doc.get('name')}: from must be one of {', '.join(SOURCES)}"
        raise ValueError(msg)
    if "tag" in doc and not tagged:
        msg = f"field {doc.get('name')}: tag needs the driver's tags (their lengths)"
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
        calc=_expression(doc, "calc", known),
        hidden=bool(doc.get("hidden", False)),
        when=_expression(doc, "when", known),
        at=_expression(doc, "at", known),
        tag=int(doc["tag"]) if "tag" in doc else None,
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
    tags = load_tags(doc["tags"]) if doc.get("tags") else None
    fields: list[Field] = []
    for f in doc["fields"]:
        fields.append(_field(f, frozenset(x.name for x in fields), tagged=tags is not None))
    return Driver(
        name=str(doc["name"]),
        description=str(doc.get("description", "")),
        detect=tuple(_detect(d) for d in doc["detect"]),
        fields=tuple(fields),
        tests=tuple(doc.get("tests", ())),
        decrypt=load_cipher(doc["decrypt"]) if doc.get("decrypt") else None,
        tags=tags,
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
    """Return the driver whose most specific rule fits a telegram (the first of equals)."""
    table = _by_manufacturer()
    candidates: Sequence[Driver] = tuple(
        driver for man, _, _ in _meters(tele) for driver in table.get(man, ())
    ) + table.get(None, ())
    best: Driver | None = None
    best_fit = -1
    for driver in candidates:
        fit = driver.fit(tele)
        if fit is not None and fit > best_fit:
            best, best_fit = driver, fit
    return best


def apply_driver(tele: Telegram, key: bytes | None = None) -> Telegram:
    """Return the telegram with the named values of the driver that applies to it, if any."""
    driver = find_driver(tele)
    if driver is None:
        return tele
    values = driver.values(tele, key)
    return replace(tele, driver=driver.name, values=MappingProxyType(values))


__all__ = ["Driver", "Field", "apply_driver", "drivers", "find_driver", "load_driver"]
