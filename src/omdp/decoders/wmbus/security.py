"""OMS / EN 13757-7 security: AES-128 in the transport and extended link layers.

- **Mode 5** (TPL): AES-128-CBC, IV = ``M(2) A(6)`` of the meter (from the long transport
  header where there is one, else the link layer) followed by the access number eight times.
  The first two bytes of the plain text are ``2F 2F``.
- **Mode 7** (TPL, with AFL): AES-128-CBC with an IV of zeros and an ephemeral key derived
  from the meter's key by the OMS KDF: ``K_enc = CMAC(K, 00 || C || ID || 07 * 7)`` and
  ``K_mac = CMAC(K, 01 || ...)``, where ``C`` is the AFL message counter and ``ID`` the meter's
  identification number (both least significant byte first). The AFL carries an AES-CMAC over
  ``MCL || MCR || [ML] || TPL`` truncated to 8 bytes.
- **Modes 2 and 3** (TPL, EN 13757-3:2004, deprecated but still sent by old meters): DES-CBC
  with an 8-byte key, IV zeros (mode 2) or ``M(2) A(6)`` of the meter (mode 3), then ``2F 2F``.
- **ELL** (CI 0x8D, 0x8F): AES-128-CTR, IV = ``M A CC SN FN(2) BC``; the payload CRC after
  decryption is the check.

The ``cryptography`` package does the AES and the CMAC.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

try:  # cryptography >= 43 keeps the DES family under "decrepit"
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

KEY_LEN: Final = 16
PRIOS_KEY_LEN: Final = 8
DES_KEY_LEN: Final = 8
BLOCK: Final = 16
DES_BLOCK: Final = 8
CHECK: Final = b"\x2f\x2f"

KDF_ENC_METER: Final = 0x00  # meter to reader, encryption
KDF_MAC_METER: Final = 0x01  # meter to reader, MAC
KDF_ENC_OTHER: Final = 0x10
KDF_MAC_OTHER: Final = 0x11


def parse_key(text: str) -> bytes:
    """Return a key from hex (spaces allowed): 32 digits (AES-128), or 16 (DES, Diehl PRIOS).

    Raises:
        ValueError: neither.
    """
    cleaned = "".join(text.split())
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        key = b""
    if len(key) not in (KEY_LEN, PRIOS_KEY_LEN):
        msg = (
            f"an AES-128 key is 32 hex digits (a Diehl PRIOS key 16), got {len(cleaned)} characters"
        )
        raise ValueError(msg)
    return key


def require_aes(key: bytes) -> None:
    """Refuse a key that is not AES-128 before any AES operation.

    Raises:
        ValueError: the key is not 16 bytes.
    """
    if len(key) != KEY_LEN:
        msg = f"this payload needs an AES-128 key (16 bytes), the key given has {len(key)}"
        raise ValueError(msg)


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Decrypt whole 16-byte blocks with AES-128-CBC."""
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def des_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Decrypt whole 8-byte blocks with single DES in CBC mode (security modes 2 and 3)."""
    dec = Cipher(TripleDES(key * 3), modes.CBC(iv)).decryptor()  # K1 = K2 = K3: single DES
    return dec.update(data) + dec.finalize()


def des_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Encrypt whole 8-byte blocks with single DES in CBC mode."""
    enc = Cipher(TripleDES(key * 3), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Encrypt whole 16-byte blocks with AES-128-CBC."""
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def ctr_crypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Encrypt or decrypt with AES-128-CTR (the same operation)."""
    ctx = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return ctx.update(data) + ctx.finalize()


def cmac(key: bytes, data: bytes) -> bytes:
    """Return the AES-CMAC (16 bytes) of ``data``."""
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def mode5_iv(address: bytes, access_number: int) -> bytes:
    """Return the mode 5 IV: ``M(2) A(6)`` then the access number eight times."""
    return address + bytes((access_number,)) * 8


def kdf(key: bytes, constant: int, counter: int, ident: bytes) -> bytes:
    """Return an ephemeral key by the OMS KDF (mode 7).

    Args:
        key: the meter's key.
        constant: :data:`KDF_ENC_METER`, :data:`KDF_MAC_METER`, ...
        counter: the AFL message counter.
        ident: the meter's identification number, 4 bytes as on the wire.
    """
    message = bytes((constant,)) + counter.to_bytes(4, "little") + ident + b"\x07" * 7
    return cmac(key, message)


def ell_iv(address: bytes, cc: int, session: int) -> bytes:
    """Return the ELL CTR IV: ``M A CC SN(4) FN(2)=0 BC=0``."""
    return address + bytes((cc,)) + session.to_bytes(4, "little") + b"\x00\x00\x00"


def pad(data: bytes) -> bytes:
    """Pad with ``2F`` fillers to a whole number of AES blocks (what meters do)."""
    return data + b"\x2f" * (-len(data) % BLOCK)
