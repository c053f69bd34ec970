"""Versioned schema of the SQLite store: ordered steps, applied once each at start.

Times are INTEGER microseconds since the Unix epoch, UTC (exact, compact, fast to compare).

**Layout, chosen by measurement** (both engines). A ``readings`` row per reading (idempotency
key, paging order, index (meter, time)) and a narrow ``reading_values`` row per property
value, reached only through its reading's row id. Migration 1 also indexed the values by
(meter, property, time); migration 2 drops that index, because maintaining it was most of
the cost of ingest. SQLite by itself, 60,000 readings of 13 values in batches of 5,000,
fsync'd commits, microseconds per reading:

=============================================================  ====
values keyed (rid, pos) plus the (meter, property, time) index  74
clustered by (meter, property, time), plus an index on rid      79
clustered by (meter, property, time), nothing else              70
keyed (rid, pos), no other index                                20
=============================================================  ====

Through the whole chain (``omdp bench ingest --quick``, same machine, minutes apart) ingest
went from 29 % to 39 % of the raw broker rate on SQLite and from 28 % to 38 % on PostgreSQL
when the index went. What the index served is answered otherwise: a series over a span reads
the meter's readings by (meter, time) and probes each one's values by row id (a meter sends
its properties together, so that reads few rows more); hours, days and months come from the
hourly rollups; the last value before a span from the preceding hour's rollup; retention and
erasure find values through their readings. One row per reading with its values as arrays
would write fewer rows still, but would make every value query decode arrays; the narrow
table keeps value filters and property selection in SQL.
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
)
