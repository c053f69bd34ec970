"""Render a decoded telegram as JSON-ready data, in the shape of ``omdp mbus decode``.

``{"header": {...}, "records": [...], "driver": ..., "values": {...}}``: the header carries the
meter's id, manufacturer, version, medium, access number, status and configuration word (the
long transport header's where there is one), with the link layer, ELL and AFL as nested objects
(and ``meterBehind``, the meter an enhanced identification record names);
records are those of the wired decoder, followed by the driver's named values as records too
(``"name"`` set), so that every value is found in one list.
"""

from __future__ import annotations

from typing import Any

from omdp.decoders.mbus.json_out import json_value, record_to_json
from omdp.decoders.wmbus.identity import meter_behind
from omdp.decoders.wmbus.link import C_FIELDS
from omdp.decoders.wmbus.model import Telegram


def _link(tele: Telegram) -> dict[str, Any]:
    link = tele.link
    return {
        "length": link.length,
        "control": link.control,
        "controlName": C_FIELDS.get(link.control),
        "id": link.id,
        "manufacturer": link.manufacturer,
        "version": link.version,
        "deviceType": link.device_type,
        "medium": link.medium_name,
        "frameFormat": tele.frame_format,
    }


def header_to_json(tele: Telegram) -> dict[str, Any]:
    """Return the header part of the JSON."""
    out: dict[str, Any] = {
        "id": tele.id,
        "manufacturer": tele.manufacturer,
        "version": tele.version,
        "medium": tele.medium,
        "accessNumber": tele.access_number,
        "status": tele.status,
        "signature": tele.tpl.config if tele.tpl else None,
        "ci": tele.ci,
        "security": tele.security,
        "securityMode": tele.tpl.security_mode if tele.tpl else None,
        "link": _link(tele),
    }
    if tele.ell is not None:
        ell = tele.ell
        out["ell"] = {
            "ci": ell.ci,
            "cc": ell.cc,
            "accessNumber": ell.access_number,
            "session": ell.session,
            "address2": ell.address2.hex().upper() if ell.address2 else None,
        }
    if tele.afl is not None:
        afl = tele.afl
        out["afl"] = {
            "fcl": afl.fcl,
            "mcl": afl.mcl,
            "keyInfo": afl.key_info,
            "counter": afl.counter,
            "mac": afl.mac.hex().upper(),
            "length": afl.length,
        }
    behind = meter_behind(tele.records)
    if behind is not None:
        out["meterBehind"] = {
            "id": behind.id,
            "manufacturer": behind.manufacturer,
            "version": behind.version,
            "medium": behind.medium,
        }
    if tele.compact_signature is not None:
        out["formatSignature"] = f"{tele.compact_signature:04X}"
    if tele.rssi_dbm is not None:
        out["rssiDbm"] = tele.rssi_dbm
    return out


def telegram_to_json(tele: Telegram) -> dict[str, Any]:
    """Return a decoded telegram as a JSON-ready dict."""
    records = [record_to_json(r) for r in tele.records]
    for name, value in tele.values.items():
        if isinstance(value, tuple):  # (number, unit, quantity)
            number, unit, quantity = value
            records.append(
                {
                    "function": "instantaneous",
                    "storageNumber": 0,
                    "tariff": 0,
                    "subunit": 0,
                    "quantity": quantity,
                    "unit": unit,
                    "value": json_value(number),
                    "name": name,
                }
            )
    out: dict[str, Any] = {"header": header_to_json(tele), "records": records}
    if tele.payload and not tele.records:
        out["payload"] = tele.payload.hex().upper()
    if tele.driver is not None:
        out["driver"] = tele.driver
        out["values"] = {
            k: (json_value(v[0]) if isinstance(v, tuple) else v) for k, v in tele.values.items()
        }
    if tele.warnings:
        out["warnings"] = list(tele.warnings)
    return out
