"""Opaque identifiers (docs/requirements.md): short printable strings, UUIDs recommended.

The published examples use identifiers that are not valid UUIDs (``a1b2c3d4-e5f6-g7h8-...``), so
identifiers are opaque. They travel in MQTT topics and URLs, so the characters are limited to a
safe set that excludes the topic separator ``/`` and the wildcards ``+`` and ``#``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

#: Letters, digits and ``. _ - : @ ~``, starting with a letter or digit, 1 to 128 characters.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@~-]{0,127}$"
IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)
IDENTIFIER_RULE = (
    "1 to 128 characters: letters, digits and . _ - : @ ~, starting with a letter or digit"
)

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
"""An opaque identifier: a reading, meter, household, physical element or property id."""


def is_identifier(text: str) -> bool:
    """Tell whether ``text`` is a valid opaque identifier."""
    return IDENTIFIER_RE.fullmatch(text) is not None
