"""Compact answers for the app: JSON columns (not one object per point), gzip when accepted.

A year of 15-minute power as one object per point was 7 MB of JSON; as columns decimated to a
chart's pixels it is tens of kilobytes, a few after gzip (Python's own zlib: no dependency).
"""

from __future__ import annotations

import gzip
from typing import Any

import orjson
from fastapi import Request, Response

#: Bodies smaller than this are sent as they are (gzip would not pay for its header).
MIN_GZIP = 1024


def compact_response(request: Request, doc: Any) -> Response:
    """``doc`` as JSON, gzip-compressed when the client accepts it and it is worth it."""
    body = orjson.dumps(doc, option=orjson.OPT_UTC_Z)
    headers = {"Vary": "Accept-Encoding", "Cache-Control": "no-store"}
    accepted = request.headers.get("accept-encoding", "")
    if len(body) >= MIN_GZIP and "gzip" in accepted:
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)
