"""The decoder against libmbus's own decoding of its test frames (``*.norm.xml``), record by record.

Each record is compared on function, storage number, tariff, sub-unit, unit, quantity and value
(numbers within 1e-6 relative plus 5e-7 absolute, as libmbus prints ``%f``). Records that cannot
match are listed in :data:`EXCEPTIONS` with the reason; everything else must match.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from omdp.decoders.mbus import DataRecord, Frame, decode
from omdp.decoders.mbus.datatypes import DateTimeValue
from omdp.decoders.mbus.tables import FIXED_MEDIUM, FUNCTION_TEXT

FRAMES = Path(__file__).resolve().parents[2] / "frames" / "mbus" / "libmbus" / "test-frames"
HEX_FILES = sorted(FRAMES.glob("*.hex"))

#: (frame, record id) -> why our decoding differs from libmbus's on purpose.
EXCEPTIONS: dict[tuple[str, int], str] = {
    ("sen_pollutherm", 2): "VIF 0x7B is reserved; libmbus prints an empty record, we decode the"
    " raw number with the quantity 'Reserved VIF: 0x7b' and no unit",
}


def read_hex(path: Path) -> bytes:
    """Read a libmbus ``.hex`` file: space-separated pairs, stop at the first non-hex token."""
    out = bytearray()
    for token in path.read_text().split():
        if len(token) != 2:
            break
        try:
            out.append(int(token, 16))
        except ValueError:
            break
    return bytes(out)


def load_expected(path: Path) -> tuple[dict[str, str], list[dict[str, str] | None]]:
    """Parse a ``.norm.xml``: the slave information and one dict per record (None if empty)."""
    # libmbus declares ISO-8859-1 but writes the degree sign as UTF-8 bytes
    text = path.read_bytes().decode("utf-8")
    root = ET.fromstring(text.replace('encoding="ISO-8859-1"', ""))  # noqa: S314 - our own test files
    info_el = root.find("SlaveInformation")
    info = {c.tag: (c.text or "") for c in info_el} if info_el is not None else {}
    records: list[dict[str, str] | None] = []
    for rec in root.findall("DataRecord"):
        fields = {c.tag: (c.text or "") for c in rec}
        records.append(fields or None)
    return info, records


def libmbus_value(value: object) -> object:
    """Render our value the way libmbus's normalised output does, for comparison."""
    if isinstance(value, DateTimeValue):
        return value.isoformat()
    return value


def compare_record(ours: DataRecord, exp: dict[str, str], *, fixed: bool) -> list[str]:
    """Return the differences between one of our records and libmbus's expectation."""
    problems: list[str] = []
    if fixed:
        function = "Stored value" if ours.storage_number else "Actual value"
    else:
        function = FUNCTION_TEXT[ours.function]
        if exp.get("StorageNumber", "0") != str(ours.storage_number):
            problems.append(f"storage {ours.storage_number} != {exp.get('StorageNumber')}")
        if exp.get("Tariff", "0") != str(ours.tariff):
            problems.append(f"tariff {ours.tariff} != {exp.get('Tariff')}")
        if exp.get("Device", "0") != str(ours.subunit):
            problems.append(f"subunit {ours.subunit} != {exp.get('Device')}")
        if exp.get("Quantity", "") != ours.quantity:
            problems.append(f"quantity {ours.quantity!r} != {exp.get('Quantity')!r}")
    if exp["Function"] != function:
        problems.append(f"function {function!r} != {exp['Function']!r}")
    if exp.get("Unit", "") != ours.unit:
        problems.append(f"unit {ours.unit!r} != {exp.get('Unit')!r}")
    want = exp.get("Value", "")
    got = libmbus_value(ours.value)
    if isinstance(got, int | float) and not isinstance(got, bool):
        try:
            number = float(want)
        except ValueError:
            problems.append(f"value {got!r} != {want!r}")
        else:
            if not math.isclose(got, number, rel_tol=1e-6, abs_tol=5e-7):
                problems.append(f"value {got!r} != {want!r}")
    elif isinstance(got, str) and want.endswith("Z") and "T" in want:
        if got != want[:-1]:
            problems.append(f"value {got!r} != {want!r}")
    elif got != want:
        problems.append(f"value {got!r} != {want!r}")
    return problems


def check_header(frame: Frame, info: dict[str, str]) -> list[str]:
    """Return the differences in the slave information."""
    header = frame.header
    assert header is not None
    problems = []
    # libmbus prints the id's hex digits without leading zeros (non-BCD ids keep their letters)
    if "Id" in info and (header.id or "").lstrip("0") != info["Id"]:
        problems.append(f"id {header.id} != {info['Id']}")
    if "Manufacturer" in info and header.manufacturer != info["Manufacturer"]:
        problems.append(f"manufacturer {header.manufacturer} != {info['Manufacturer']}")
    if "Version" in info and str(header.version) != info["Version"]:
        problems.append(f"version {header.version} != {info['Version']}")
    medium = FIXED_MEDIUM[header.medium or 0] if frame.fixed else header.medium_name
    if info.get("Medium") != medium:
        problems.append(f"medium {medium} != {info.get('Medium')}")
    if info.get("AccessNumber") != str(header.access_number):
        problems.append(f"access {header.access_number} != {info.get('AccessNumber')}")
    if info.get("Status") != f"{header.status:02X}":
        problems.append(f"status {header.status} != {info.get('Status')}")
    if "Signature" in info and info["Signature"] != f"{header.signature:04X}":
        problems.append(f"signature {header.signature} != {info['Signature']}")
    return problems


def frame_problems(path: Path) -> tuple[int, int, list[str]]:
    """Compare one frame; return (records, records matched, unexpected differences)."""
    frame = decode(read_hex(path))
    info, expected = load_expected(path.with_suffix(".norm.xml"))
    problems = check_header(frame, info)
    if len(frame.records) != len(expected):
        problems.append(f"{len(frame.records)} records, libmbus has {len(expected)}")
        return len(expected), 0, problems
    matched = 0
    for idx, (ours, exp) in enumerate(zip(frame.records, expected, strict=True)):
        diff = (
            ["libmbus could not normalise it"]
            if exp is None
            else compare_record(ours, exp, fixed=frame.fixed)
        )
        reason = EXCEPTIONS.get((path.stem, idx))
        if not diff:
            matched += 1
            if reason is not None:
                problems.append(f"record {idx} matches but is listed as an exception")
        elif reason is None:
            problems.append(f"record {idx} {ours.raw.hex(' ')}: {'; '.join(diff)}")
    return len(expected), matched, problems


@pytest.mark.parametrize("path", HEX_FILES, ids=lambda p: p.stem)
def test_frame_matches_libmbus(path: Path) -> None:
    """Every record of every libmbus frame decodes as libmbus says, or is a listed exception."""
    _, _, problems = frame_problems(path)
    assert not problems, "\n".join(problems)


def test_match_rate_reported() -> None:
    """Print the corpus match rate; only the listed exceptions may differ."""
    total = matched = 0
    for path in HEX_FILES:
        n, ok, _ = frame_problems(path)
        total += n
        matched += ok
    print(
        f"libmbus corpus: {len(HEX_FILES)} frames, {matched}/{total} records match; "
        f"{len(EXCEPTIONS)} listed exception(s): {EXCEPTIONS}"
    )
    assert len(HEX_FILES) >= 50
    assert matched == total - len(EXCEPTIONS)
