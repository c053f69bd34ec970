"""The registry tables (DM-4..DM-6), the same SQL on SQLite and PostgreSQL.

Both engines' first migration embeds this text, so the two registries cannot drift apart.
"""

from __future__ import annotations

from typing import Final

REGISTRY_DDL: Final = """
CREATE TABLE households (
    household_id TEXT PRIMARY KEY, name TEXT, description TEXT,
    timezone TEXT NOT NULL, size INTEGER
);
CREATE TABLE property_definitions (
    property_id TEXT PRIMARY KEY, description TEXT, allowed_units TEXT,
    kind TEXT NOT NULL, catalogue TEXT
);
CREATE TABLE physical_elements (
    element_id TEXT PRIMARY KEY, name TEXT, description TEXT, version TEXT,
    is_virtual INTEGER NOT NULL, meter_class TEXT NOT NULL
);
CREATE TABLE element_properties (
    element_id TEXT NOT NULL REFERENCES physical_elements ON DELETE CASCADE,
    property_id TEXT NOT NULL REFERENCES property_definitions,
    PRIMARY KEY (element_id, property_id)
);
CREATE TABLE meters (
    meter_id TEXT PRIMARY KEY, name TEXT, description TEXT,
    household_id TEXT REFERENCES households,
    element_id TEXT NOT NULL REFERENCES physical_elements
);
CREATE INDEX meters_household ON meters (household_id);
"""
