"""Versioned schema of the PostgreSQL store: ordered steps, applied once each at start.

**Layout** (migration 6), as on SQLite (:mod:`omdp.cloud.storage.schema_sqlite`): one
``readings`` row per reading with its values packed in a JSON array (``vals``, text, read by
``json_array_elements`` where SQL filters on a value), found by (meter, time) through the index
``readings_meter``. ``reading_values`` is a view of the packed values. Migrations 1 and 2 made
the former layout (a row per value, partitioned by month); migration 6 moves a store to this
one. TimescaleDB is not used: Debian does not ship it.
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
    rid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reading_id TEXT NOT NULL UNIQUE,
    meter_id TEXT NOT NULL,
    t TIMESTAMPTZ NOT NULL,
    seq BIGINT,
    fault TEXT,
    concentrator TEXT,
    received TIMESTAMPTZ NOT NULL
);
CREATE INDEX readings_order ON readings (t, meter_id, reading_id);
CREATE INDEX readings_meter ON readings (meter_id, t);
CREATE TABLE reading_values (
    rid BIGINT NOT NULL,
    pos INTEGER NOT NULL,
    meter_id TEXT NOT NULL,
    property_id TEXT NOT NULL,
    t TIMESTAMPTZ NOT NULL,
    num DOUBLE PRECISION,
    txt TEXT,
    unit TEXT,
    vdate TIMESTAMPTZ
) PARTITION BY RANGE (t);
CREATE INDEX values_rid ON reading_values (rid);
CREATE INDEX values_series ON reading_values (meter_id, property_id, t);
CREATE TABLE rollups (
    meter_id TEXT NOT NULL,
    property_id TEXT NOT NULL,
    width INTEGER NOT NULL,
    bucket TIMESTAMPTZ NOT NULL,
    n BIGINT NOT NULL,
    vmin DOUBLE PRECISION, vmax DOUBLE PRECISION, vsum DOUBLE PRECISION,
    first_t TIMESTAMPTZ, first_v DOUBLE PRECISION, last_t TIMESTAMPTZ, last_v DOUBLE PRECISION,
    internal DOUBLE PRECISION NOT NULL DEFAULT 0,
    dirty INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (meter_id, property_id, width, bucket)
);
CREATE INDEX rollups_dirty ON rollups (width) WHERE dirty = 1;
CREATE TABLE seen_meters (meter_id TEXT PRIMARY KEY, first_seen TIMESTAMPTZ NOT NULL);
"""
        + REGISTRY_DDL.lstrip("\n")
        + """CREATE TABLE quarantine (
    qid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, received TIMESTAMPTZ NOT NULL,
    topic TEXT NOT NULL, payload BYTEA NOT NULL, problems TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE
);
CREATE TABLE erasure_audit (
    aid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL, subject_kind TEXT NOT NULL, subject_id TEXT NOT NULL,
    row_counts TEXT NOT NULL
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
    updated TIMESTAMPTZ NOT NULL
);
CREATE TABLE prices (
    household_id TEXT NOT NULL,
    t TIMESTAMPTZ NOT NULL,
    price DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (household_id, t)
);
CREATE TABLE meter_roles (
    meter_id TEXT PRIMARY KEY,
    role TEXT NOT NULL
)
""",
    ),
    (
        6,
        "a reading's values packed in its row",
        """
ALTER TABLE readings ADD COLUMN vals TEXT;
SET LOCAL extra_float_digits = 1;
UPDATE readings r SET vals = '[' || coalesce((
    SELECT string_agg(
        '[' || replace(to_json(v.property_id)::text, ']', '\\u005d')
        || ',' || coalesce(v.num::text, 'null')
        || ',' || coalesce(replace(to_json(v.txt)::text, ']', '\\u005d'), 'null')
        || ',' || coalesce(replace(to_json(v.unit)::text, ']', '\\u005d'), 'null')
        || ',' || coalesce('"' || to_char(v.vdate AT TIME ZONE 'UTC',
            'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"', 'null')
        || ']', ',' ORDER BY v.pos)
    FROM reading_values v WHERE v.rid = r.rid AND v.t = r.t
), '') || ']';
ALTER TABLE readings ALTER COLUMN vals SET NOT NULL;
DROP TABLE reading_values;
DROP INDEX readings_meter;
CREATE INDEX readings_meter ON readings (meter_id, t, reading_id);
CREATE VIEW reading_values AS
SELECT r.rid, (j.pos - 1)::int AS pos, r.meter_id, j.v ->> 0 AS property_id, r.t,
    (j.v ->> 1)::float8 AS num, j.v ->> 2 AS txt, j.v ->> 3 AS unit,
    (j.v ->> 4)::timestamptz AS vdate
FROM readings r CROSS JOIN LATERAL json_array_elements(r.vals::json) WITH ORDINALITY AS j(v, pos)
""",
    ),
)
