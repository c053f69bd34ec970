"""End-to-end receipts (CO-2, CL-1): the cloud tells a concentrator what it has committed.

A broker's PUBACK says only that the broker took a message, not that it reached the store: a
broker restart can lose an MQTT 5 shared subscription and drop what arrives meanwhile (PUBACK
0x10 "No matching subscribers" on MQTT 5, silently on 3.1.1), and a broker killed with SIGKILL
loses what it held only in memory. So the edge keeps every message in its outbox until the
cloud ingest has committed it, and the ingest says so:

- after each committed batch, the ingest publishes one receipt per concentrator present in the
  batch on ``omdp/receipts/{concentratorId}`` (QoS 1), outside the ``concentrator/#`` tree it
  consumes; stored readings, duplicates and quarantined messages are all receipted (each is
  durable in the store);
- a receipt names each message by its **digest**: 64 bits of XXH3 over the topic the cloud
  received it on, a NUL byte and the payload, byte for byte. The edge computes the same digest
  when it publishes, so no field is added to the message (CO-2: unmodified), and a message that
  cannot be parsed is receipted like any other;
- wire format: one byte :data:`FORMAT` (1), then the digests as unsigned 64-bit little-endian
  integers, 8 bytes a message: a batch of 1,000 readings is receipted in 8 KB.

XXH3 is not a cryptographic hash: it guards against chance, not against someone crafting
collisions. Only the concentrator reads its receipts and only its own messages can match, so a
collision could at worst make it delete a message of the same meter and topic that the cloud
holds an identical digest of; by chance that is about one in 2**64 per receipt and pending
message.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Sequence

import xxhash

from omdp.errors import BrokerError
from omdp.topics import concentrator_of

FORMAT = 1
"""First byte of a receipt: the version of its layout."""
MAX_DIGESTS = 8192
"""Digests in one receipt at most (64 KB); a larger batch is receipted in several."""

_digest = xxhash.xxh3_64_intdigest


def message_digest(topic: bytes, payload: bytes) -> int:
    """The digest of one message: XXH3-64 of ``topic`` (UTF-8), a NUL byte and ``payload``.

    ``topic`` may already end with the NUL byte (:func:`topic_key`), which saves a copy per
    message on the hot paths.
    """
    if not topic.endswith(b"\0"):
        topic += b"\0"
    return _digest(topic + payload)


def topic_key(topic: str) -> bytes:
    """The digest prefix of a topic: its UTF-8 bytes and a NUL byte."""
    return topic.encode() + b"\0"


@functools.lru_cache(maxsize=100_000)
def _receipt_key(topic: str) -> tuple[str, bytes] | None:
    """(concentrator id, digest prefix) of a topic, None when no concentrator can be told."""
    concentrator = concentrator_of(topic)
    return None if concentrator is None else (concentrator, topic_key(topic))


def receipt_entry(topic: str, payload: bytes) -> tuple[str, int] | None:
    """(concentrator id, digest) with which a message received on ``topic`` is receipted: any
    message under ``concentrator/{id}/``, whatever its payload."""
    key = _receipt_key(topic)
    return None if key is None else (key[0], message_digest(key[1], payload))


def encode_receipts(digests: Sequence[int]) -> list[bytes]:
    """The receipt payloads for these digests, at most :data:`MAX_DIGESTS` in each."""
    out = []
    for start in range(0, len(digests), MAX_DIGESTS):
        chunk = digests[start : start + MAX_DIGESTS]
        out.append(bytes((FORMAT,)) + struct.pack(f"<{len(chunk)}Q", *chunk))
    return out


def decode_receipt(payload: bytes) -> tuple[int, ...]:
    """The digests of one receipt.

    Raises:
        BrokerError: not a receipt of a known format.
    """
    if not payload or payload[0] != FORMAT or (len(payload) - 1) % 8:
        shown = payload[:1].hex() or "empty"
        msg = f"not a receipt (format byte {shown}, {len(payload)} bytes)"
        raise BrokerError(msg)
    return struct.unpack(f"<{(len(payload) - 1) // 8}Q", payload[1:])


def group_digests(messages: Iterable[tuple[str, int]]) -> dict[str, list[int]]:
    """``(concentrator id, digest)`` pairs grouped by concentrator, in arrival order."""
    grouped: dict[str, list[int]] = {}
    for concentrator, digest in messages:
        grouped.setdefault(concentrator, []).append(digest)
    return grouped
