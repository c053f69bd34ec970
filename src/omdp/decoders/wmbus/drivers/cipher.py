"""Manufacturer payloads encrypted the OMS way, outside the transport layer (``decrypt``).

Some meters with a manufacturer CI (0xA0-0xB7) encrypt their own payload with AES-128-CBC and
the IV of security mode 5: ``M(2) A(6)`` of the link layer, then an access number eight times,
where the access number is a byte of the payload itself. A driver says where:

```yaml
decrypt: {access_number: 0, from: 2, check: "2F"}
```

``from``: where the ciphertext starts (whole 16-byte blocks to the end); ``check``: bytes the
plain text starts with (a wrong key does not give them). The meter's key is the one given for
it; without one, none is tried. The fields then read the plain text (``from: payload``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from omdp.decoders.wmbus import security

if TYPE_CHECKING:
    from omdp.decoders.wmbus.model import Telegram

KEYS: Final = frozenset({"access_number", "from", "check"})


@dataclass(frozen=True, slots=True)
class PayloadCipher:
    """Where a manufacturer payload's ciphertext, access number and check bytes are."""

    access_number: int
    start: int
    check: bytes

    def plain(self, tele: Telegram, key: bytes | None) -> bytes | None:
        """The decrypted payload (from ``start`` on), or ``None``: no key, or not this key."""
        payload = tele.payload
        if key is None or len(key) != security.KEY_LEN or self.access_number >= len(payload):
            return None
        body = payload[self.start :]
        body = body[: len(body) - len(body) % security.BLOCK]
        if not body:
            return None
        iv = security.mode5_iv(tele.link.address, payload[self.access_number])
        plain = security.cbc_decrypt(key, iv, body)
        return plain if plain.startswith(self.check) else None


def load_cipher(doc: Mapping[str, Any]) -> PayloadCipher:
    """Return a driver's ``decrypt`` section.

    Raises:
        ValueError: unknown keys, or values that are not numbers / hex.
    """
    unknown = sorted(set(doc) - KEYS)
    if unknown:
        msg = f"decrypt: unknown key(s) {', '.join(unknown)}"
        raise ValueError(msg)
    return PayloadCipher(
        int(doc.get("access_number", 0)),
        int(doc.get("from", 0)),
        bytes.fromhex(str(doc.get("check", ""))),
    )
