"""A site's private certificate authority and its certificates (CM-1, CL-7), with ``cryptography``.

``omdp certs init DIR`` makes ``ca.crt``/``ca.key``; ``omdp certs server DIR NAME...`` a server
certificate with SANs (always ``localhost`` and ``127.0.0.1``, plus the names given);
``omdp certs client DIR CN`` a client certificate (CN = the device or service id, as Mosquitto's
``use_identity_as_username`` expects). Keys are EC P-256, written with mode 600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from omdp.errors import ConfigError
from omdp.security.files import check_secret
from omdp.security.keys import write_private

CA_DAYS, LEAF_DAYS = 3650, 825


@dataclass(frozen=True, slots=True)
class Issued:
    """Where a certificate and its key were written."""

    cert: Path
    key: Path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "omdp site"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def init_ca(folder: Path, *, name: str = "omdp site CA", force: bool = False) -> Issued:
    """Create ``ca.crt`` and ``ca.key`` in ``folder``; refuses to overwrite unless ``force``."""
    cert_path, key_path = folder / "ca.crt", folder / "ca.key"
    if key_path.exists() and not force:
        msg = f"{key_path} exists; use --force to replace the CA (every certificate with it)"
        raise ConfigError(msg)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Issued(cert_path, key_path)


def _load_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    check_secret(folder / "ca.key", "the CA's key")
    try:
        cert = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
        key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        msg = f"{folder}: no usable CA (run omdp certs init first): {exc}"
        raise ConfigError(msg) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        msg = f"{folder}/ca.key: not an EC key"
        raise ConfigError(msg)
    return cert, key


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _issue(
    folder: Path, stem: str, common_name: str, *, server_names: list[str] | None, out: Path
) -> Issued:
    ca_cert, ca_key = _load_ca(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if server_names:
        builder = builder.add_extension(_san(server_names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    out.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = out / f"{stem}.key", out / f"{stem}.crt"
    write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Issued(cert_path, key_path)


def issue_server(
    folder: Path, names: list[str] | None = None, *, stem: str = "server", out: Path | None = None
) -> Issued:
    """A server certificate for ``localhost``, ``127.0.0.1`` and ``names``, signed by the CA."""
    all_names = ["localhost", "127.0.0.1", *(names or [])]
    return _issue(
        folder,
        stem,
        all_names[-1] if names else "localhost",
        server_names=all_names,
        out=out or folder,
    )


def issue_client(folder: Path, common_name: str, *, out: Path | None = None) -> Issued:
    """A client certificate whose CN is ``common_name`` (a device, service or user id)."""
    if not common_name or "/" in common_name or len(common_name) > 64:
        msg = f"{common_name!r}: a client name has 1 to 64 characters and no '/'"
        raise ConfigError(msg)
    return _issue(folder, common_name, common_name, server_names=None, out=out or folder)
