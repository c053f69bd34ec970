"""Security suites 0 and 1 (AES-128-GCM) of DLMS/COSEM: general-glo- and ded-ciphering.

Layout of a ciphered push (Green Book 9.2.7)::

    DB                      general-glo-ciphering (DC: general-ded-ciphering)
    08 <system title>       length and the meter's 8-byte system title
    <len>                   A-XDR length of what follows
    SC                      security control: 0x10 authenticated, 0x20 encrypted, low nibble suite
    FC FC FC FC             frame counter (invocation counter), big-endian
    <ciphertext>            the ciphered APDU (or the plain one when only authenticated)
    <tag 12 bytes>          GMAC tag, only when authenticated

IV = system title + frame counter; the additional data is SC + authentication key (+ the plain
APDU when only authenticated). Encrypted-only pushes (SC 0x20, the Austrian customer interfaces)
carry no tag: GCM without a tag is AES-CTR from counter block IV + 00000002, and a wrong key then
shows only as a plaintext that is not a valid APDU (see :mod:`omdp.decoders.dlms.apdu`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from omdp.decoders.dlms.axdr import Reader, encode_length
from omdp.decoders.dlms.errors import (
    DlmsError,
    MissingKeyError,
    ReplayError,
    WrongKeyError,
)

GLO_CIPHERING: Final = 0xDB
DED_CIPHERING: Final = 0xDC
CIPHERED_TAGS: Final = frozenset({GLO_CIPHERING, DED_CIPHERING})
AUTHENTICATED: Final = 0x10
ENCRYPTED: Final = 0x20
TAG_LENGTH: Final = 12
_SUITES: Final = frozenset({0, 1})


@dataclass(frozen=True, slots=True)
class DlmsKeys:
    """The household's keys: ``encryption`` (16 bytes) and, where used, ``authentication``."""

    encryption: bytes
    authentication: bytes | None = None

    def __post_init__(self) -> None:
        for name, key in (("encryption", self.encryption), ("authentication", self.authentication)):
            if key is not None and len(key) != 16:
                msg = f"the {name} key must be 16 bytes (32 hex digits), got {len(key)}"
                raise ValueError(msg)

    @classmethod
    def from_hex(cls, key: str, auth_key: str | None = None) -> DlmsKeys:
        """Keys from hex text (spaces allowed).

        Raises:
            ValueError: not hex, or not 16 bytes.
        """

        def raw(text: str, name: str) -> bytes:
            try:
                return bytes.fromhex(text.replace(" ", ""))
            except ValueError:
                msg = f"the {name} key is not hex"
                raise ValueError(msg) from None

        auth = raw(auth_key, "authentication") if auth_key else None
        return cls(raw(key, "encryption"), auth)

    def __repr__(self) -> str:
        return "DlmsKeys(<secret>)"


@dataclass(frozen=True, slots=True)
class Ciphered:
    """A parsed ciphering APDU, before decryption."""

    tag: int
    system_title: bytes
    security_control: int
    frame_counter: int
    payload: bytes  # ciphertext (+ tag when authenticated)

    @property
    def authenticated(self) -> bool:
        """Whether the push carries a GMAC tag."""
        return bool(self.security_control & AUTHENTICATED)

    @property
    def encrypted(self) -> bool:
        """Whether the APDU is encrypted."""
        return bool(self.security_control & ENCRYPTED)


def parse_ciphered(apdu: bytes) -> Ciphered:
    """Split a general-glo/ded-ciphering APDU into its parts.

    Raises:
        DlmsTruncatedError: shorter than its lengths say.
        DlmsError: an unknown security suite, or a compressed APDU.
    """
    r = Reader(apdu)
    tag = r.byte()
    title = bytes(r.take(r.length()))
    length = r.length()
    start = r.pos
    sc = r.byte()
    counter = int.from_bytes(r.take(4), "big")
    if length < 5:
        msg = f"ciphered APDU length {length} leaves no room for security header"
        raise DlmsError(msg, offset=start)
    payload = bytes(r.take(length - 5))
    suite = sc & 0x0F
    if suite not in _SUITES:
        msg = f"security suite {suite} is not supported (suites 0 and 1: AES-128-GCM)"
        raise DlmsError(msg, offset=start)
    if sc & 0x80:
        msg = "compressed APDUs (security control bit 7) are not supported"
        raise DlmsError(msg, offset=start)
    return Ciphered(tag, title, sc, counter, payload)


def _iv(c: Ciphered) -> bytes:
    if len(c.system_title) != 8:
        msg = f"system title of {len(c.system_title)} bytes; AES-GCM needs 8"
        raise DlmsError(msg)
    return c.system_title + c.frame_counter.to_bytes(4, "big")


def decrypt(c: Ciphered, keys: DlmsKeys | None) -> tuple[bytes, bool]:
    """The plain APDU of ``c`` and whether its tag was verified.

    Raises:
        MissingKeyError: encrypted and no key.
        WrongKeyError: the tag does not verify with these keys.
        DlmsTruncatedError: an authenticated payload shorter than its tag.
    """
    if not c.encrypted and not c.authenticated:
        return c.payload, False
    if keys is None:
        if not c.encrypted:
            return c.payload[:-TAG_LENGTH], False
        msg = (
            f"push from system title {c.system_title.hex()} is encrypted (frame counter "
            f"{c.frame_counter}); configure the meter's key"
        )
        raise MissingKeyError(msg)
    iv = _iv(c)
    body, tag = c.payload, b""
    if c.authenticated:
        if len(body) < TAG_LENGTH:
            msg = "authenticated push shorter than its 12-byte tag"
            raise DlmsError(msg)
        body, tag = body[:-TAG_LENGTH], body[-TAG_LENGTH:]
    if not c.authenticated or keys.authentication is None:
        # no tag, or no authentication key to verify it: GCM's keystream is AES-CTR
        counter0 = iv + b"\x00\x00\x00\x02"
        ctr = Cipher(algorithms.AES(keys.encryption), modes.CTR(counter0)).decryptor()
        plain = body if not c.encrypted else ctr.update(body) + ctr.finalize()
        return plain, False
    aad = bytes((c.security_control,)) + keys.authentication
    gcm = Cipher(
        algorithms.AES(keys.encryption), modes.GCM(iv, tag, min_tag_length=TAG_LENGTH)
    ).decryptor()
    if c.encrypted:
        gcm.authenticate_additional_data(aad)
        plain = gcm.update(body)
    else:
        gcm.authenticate_additional_data(aad + body)
        plain = body
    try:
        gcm.finalize()
    except InvalidTag:
        msg = (
            f"authentication tag of the push from {c.system_title.hex()} (frame counter "
            f"{c.frame_counter}) does not verify: wrong key or authentication key"
        )
        raise WrongKeyError(msg) from None
    return plain, True


def encrypt(
    plain: bytes,
    keys: DlmsKeys,
    *,
    system_title: bytes,
    frame_counter: int,
    security_control: int = AUTHENTICATED | ENCRYPTED,
    tag: int = GLO_CIPHERING,
) -> bytes:
    """Build a general-glo-ciphering APDU around ``plain`` (for simulators and tests)."""
    iv = system_title + frame_counter.to_bytes(4, "big")
    authenticated = bool(security_control & AUTHENTICATED)
    if authenticated:
        if keys.authentication is None:
            msg = "an authenticated push needs an authentication key"
            raise ValueError(msg)
        gcm = Cipher(algorithms.AES(keys.encryption), modes.GCM(iv)).encryptor()
        gcm.authenticate_additional_data(bytes((security_control,)) + keys.authentication)
        body = gcm.update(plain) + gcm.finalize() + gcm.tag[:TAG_LENGTH]
    else:
        ctr = Cipher(algorithms.AES(keys.encryption), modes.CTR(iv + b"\x00\x00\x00\x02"))
        enc = ctr.encryptor()
        body = enc.update(plain) + enc.finalize()
    inner = bytes((security_control,)) + frame_counter.to_bytes(4, "big") + body
    return (
        bytes((tag,))
        + encode_length(len(system_title))
        + system_title
        + encode_length(len(inner))
        + inner
    )


@dataclass
class FrameCounterGuard:
    """Remembers the last frame counter per system title; refuses one that does not increase.

    A meter increments its invocation counter with every push; a counter equal to or below the
    last accepted one is a replay (or a re-ordered copy) and is refused.
    """

    last: dict[bytes, int] = field(default_factory=dict)

    def check(self, system_title: bytes, counter: int) -> None:
        """Refuse ``counter`` unless it is above the last accepted one (nothing is recorded).

        Raises:
            ReplayError: not above the last accepted counter.
        """
        last = self.last.get(system_title)
        if last is not None and counter <= last:
            msg = (
                f"frame counter {counter} of system title {system_title.hex()} is not above "
                f"the last accepted {last}: replayed or re-ordered push refused"
            )
            raise ReplayError(msg, counter=counter, last=last)

    def accept(self, system_title: bytes, counter: int) -> None:
        """Record ``counter`` once its push decrypted and decoded (a forgery never moves it)."""
        self.last[system_title] = max(counter, self.last.get(system_title, -1))
