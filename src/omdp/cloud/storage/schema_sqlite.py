"""Versioned schema of the SQLite store: ordered steps, applied once each at start.

Times are INTEGER microseconds since the Unix epoch, UTC (exact, compact, fast to compare).
"""

from __future__ import annotations

from typing import Final

MIGRATIONS: Final[tuple[tuple[int, str, str], ...]] = (
    (
        1,
        "readings, values, rollups, registry, quarantine, audit",
        """
CREATE TABLE readings (
    rid INTEGER PRIMARY KEY,
    reading_id TEXT NOT NULL UNIQUE,
    meter_id TEXT NOT NULL,
    t INTEGER NOT NULL,
    seq INTEGER,
    fault TEXT,
    concentrator TEXT,
    received INTEGER NOT NULL
);
CREATE INDEX readings_order ON readings (t, meter_id, reading_id);
CREATE INDEX readings_meter ON readings (meter_id, t);
CREATE TABLE reading_values (
    rid INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    meter_id TEXT NOT NULL,
    property_id TEXT NOT NULL,
    t INTEGER NOT NULL,
    num REAL,
    txt TEXT,
    unit TEXT,
    vdate INTEGER,
    PRIMARY KEY (rid, pos)
) WITHOUT ROWID;
CREATE INDEX values_series ON reading_values (meter_id, property_id, t);
CREATE TABLE rollups (
    meter_id TEXT NOT NULL,
    property_id TEXT NOT NULL,
    width INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    n INTEGER NOT NULL,
    vmin REAL, vmax REAL, vsum REAL,
    first_t INTEGER, first_v REAL, last_t INTEGER, last_v REAL,
    internal REAL NOT NULL DEFAULT 0,
    dirty INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (meter_id, property_id, width, bucket)
) WITHOUT ROWID;
CREATE INDEX rollups_dirty ON rollups (width) WHERE dirty = 1;
CREATE TABLE seen_meters (meter_id TEXT PRIMARY KEY, first_seen INTEGER NOT NULL);
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
CREATE TABLE quarantine (
    qid INTEGER PRIMARY KEY AUTOINCREMENT, received INTEGER NOT NULL,
    topic TEXT NOT NULL, payload BLOB NOT NULL, problems TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE
);
CREATE TABLE erasure_audit (
    aid INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
    subject_kind TEXT NOT NULL, subject_id TEXT NOT NULL, row_counts TEXT NOT NULL
);
""",
    ),
)
