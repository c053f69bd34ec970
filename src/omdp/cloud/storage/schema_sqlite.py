"""Versioned schema of the SQLite store: ordered steps, applied once each at start.

Times are INTEGER microseconds since the Unix epoch, UTC (exact, compact, fast to compare).

**Layout** (migration 6). One ``readings`` row per reading with its values packed in a JSON
array (:mod:`omdp.cloud.storage.packing`), clustered by (meter, time, reading id)
(``WITHOUT ROWID``), so that a meter's span is one range of the tree and ingest writes one row
per reading instead of one per value. Indexes: the reading id (idempotency), the row id (the
order readings arrived in, which recomputations of rollups follow) and (time, meter, reading
id), the paging order across meters. ``reading_values`` is a view of the packed values, one
row per value, for reading by hand. Migrations 1 and 2 made the former layout, a narrow row per
value; migration 6 moves a store to this one. The measurements behind the choice are in
``docs/benchmarks.md`` ("Storage layout").
"""

from __future__ import annotations

from typing import Final

from omdp.cloud.storage.schema_registry import REGISTRY_DDL

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
"""
        + REGISTRY_DDL.lstrip("\n")
        + """CREATE TABLE quarantine (
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
    (
        2,
        "values found through their readings: no (meter, property, time) index",
        """
DROP INDEX IF EXISTS values_series
""",
    ),
    (
        3,
        "meters belong to sites: the concentrator that may speak for each meter",
        """
ALTER TABLE meters ADD COLUMN concentrator_id TEXT;
CREATE INDEX meters_site ON meters (concentrator_id)
""",
    ),
    (
        5,
        "household tariffs, price series and meter roles (the app's costs and energy flow)",
        """
CREATE TABLE tariffs (
    household_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated INTEGER NOT NULL
);
CREATE TABLE prices (
    household_id TEXT NOT NULL,
    t INTEGER NOT NULL,
    price REAL NOT NULL,
    PRIMARY KEY (household_id, t)
) WITHOUT ROWID;
CREATE TABLE meter_roles (
    meter_id TEXT PRIMARY KEY,
    role TEXT NOT NULL
)
""",
    ),
    (
        6,
        "a reading's values packed in its row; readings clustered by (meter, time)",
        """
CREATE TABLE readings_packed (
    meter_id TEXT NOT NULL,
    t INTEGER NOT NULL,
    reading_id TEXT NOT NULL,
    rid INTEGER NOT NULL,
    seq INTEGER,
    fault TEXT,
    concentrator TEXT,
    received INTEGER NOT NULL,
    vals TEXT NOT NULL,
    PRIMARY KEY (meter_id, t, reading_id)
) WITHOUT ROWID;
INSERT INTO readings_packed
SELECT r.meter_id, r.t, r.reading_id, r.rid, r.seq, r.fault, r.concentrator, r.received,
    '[' || coalesce((
        SELECT group_concat(e, ',') FROM (
            SELECT '[' || replace(json_quote(v.property_id), ']', '\\u005d')
                || ',' || CASE WHEN v.num IS NULL THEN 'null' ELSE printf('%!.17g', v.num) END
                || ',' || CASE WHEN v.txt IS NULL THEN 'null'
                    ELSE replace(json_quote(v.txt), ']', '\\u005d') END
                || ',' || CASE WHEN v.unit IS NULL THEN 'null'
                    ELSE replace(json_quote(v.unit), ']', '\\u005d') END
                || ',' || CASE WHEN v.vdate IS NULL THEN 'null' ELSE '"'
                    || strftime('%Y-%m-%dT%H:%M:%S',
                        (v.vdate - ((v.vdate % 1000000) + 1000000) % 1000000) / 1000000,
                        'unixepoch')
                    || printf('.%06dZ', ((v.vdate % 1000000) + 1000000) % 1000000) || '"' END
                || ']' AS e
            FROM reading_values v WHERE v.rid = r.rid ORDER BY v.pos
        )
    ), '') || ']'
FROM readings r ORDER BY r.meter_id, r.t, r.reading_id;
DROP TABLE reading_values;
DROP TABLE readings;
ALTER TABLE readings_packed RENAME TO readings;
CREATE UNIQUE INDEX readings_id ON readings (reading_id);
CREATE UNIQUE INDEX readings_rid ON readings (rid);
CREATE INDEX readings_order ON readings (t, meter_id, reading_id);
CREATE VIEW reading_values AS
SELECT r.rid AS rid, j.key AS pos, r.meter_id AS meter_id, j.value ->> 0 AS property_id,
    r.t AS t, j.value ->> 1 AS num, j.value ->> 2 AS txt, j.value ->> 3 AS unit,
    j.value ->> 4 AS vdate
FROM readings r, json_each(r.vals) j
""",
    ),
)
