"""Tagged layouts: manufacturer data as a run of items, each a tag byte and a fixed length.

Some meters (Apator's water meters, for one) send their values as items whose order and
presence vary from telegram to telegram: a tag byte says what follows and, by the meter's
documentation, how long it is. A driver declares the lengths once::

    tags:
      start: 7                # the first tag's offset in the field's data
      lengths: {0x10: 4, 0x43: 2, 0x83: 10}

and a field names the item it reads (``tag: 0x10``); its offsets then count from the byte
after that tag. The walk stops at a tag the table does not know (padding, a checksum): an item
after it is not found, and the field has no value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class TagLayout:
    """Where the first tag is, and how many bytes follow each tag."""

    start: int
    lengths: Mapping[int, int]

    def item(self, data: bytes, tag: int) -> bytes | None:
        """Return the bytes after the first ``tag``, or ``None`` when the walk does not reach
        one (an unknown tag first, or the data ends)."""
        i = self.start
        while i < len(data):
            n = self.lengths.get(data[i])
            if n is None or i + 1 + n > len(data):
                return None
            if data[i] == tag:
                return data[i + 1 : i + 1 + n]
            i += 1 + n
        return None


def load_tags(doc: Mapping[str, Any]) -> TagLayout:
    """Return a layout from a driver's ``tags`` block.

    Raises:
        ValueError: no lengths, or a tag or a length that is not a byte value / not positive.
    """
    lengths = doc.get("lengths")
    if not isinstance(lengths, Mapping) or not lengths:
        msg = "tags: lengths must map each tag to the bytes that follow it"
        raise ValueError(msg)
    table = {int(tag): int(n) for tag, n in lengths.items()}
    if any(not 0 <= tag <= 0xFF or n < 0 for tag, n in table.items()):
        msg = "tags: tags are bytes (0-255) and lengths are not negative"
        raise ValueError(msg)
    return TagLayout(int(doc.get("start", 0)), MappingProxyType(table))
