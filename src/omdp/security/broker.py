"""Mosquitto configuration of a site from the device credentials (CM-1, CL-14).

``omdp broker config --out DIR`` writes three files:

- ``password_file``: ``user:$7$...`` lines, the hashes the credential store already keeps;
- ``acl_file``: per user, only its own topics (Mosquitto denies everything not granted):
  an adapter (user = its meter id) writes ``smartMeterMessage/{id}/#``; a concentrator (user =
  its concentrator id) writes ``concentrator/{id}/#`` and reads ``smartMeterMessage/#``; the
  ingest user alone reads ``concentrator/#`` and ``$share/+/concentrator/#``; receipts
  (:mod:`omdp.receipts`): the ingest writes ``omdp/receipts/#``, a concentrator reads only
  ``omdp/receipts/{id}``;
- ``mosquitto.conf``: ``per_listener_settings true``, one TLS listener (8883, the site CA,
  ``require_certificate`` optional), ``allow_anonymous false``, persistence,
  ``max_queued_messages 0``, and no plaintext listener except an optional localhost-only one.

Who is what: ``device-roles.json`` beside the credentials file maps a user to ``concentrator``
or ``ingest``; every other user of the credential store is an adapter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from omdp.errors import ConfigError
from omdp.security.keys import write_private
from omdp.topics import RECEIPTS_ROOT, receipt_topic

BrokerRole = Literal["adapter", "concentrator", "ingest"]
_SAFE = re.compile(r"^[A-Za-z0-9._:@~-]{1,128}$")


def roles_path(credentials_file: Path) -> Path:
    """The roles file beside a credentials file."""
    return credentials_file.with_name("device-roles.json")


def load_roles(path: Path) -> dict[str, BrokerRole]:
    """``{user: role}`` of the roles file (empty when missing)."""
    if not path.exists():
        return {}
    data: dict[str, BrokerRole] = json.loads(path.read_text(encoding="utf-8"))
    return data


def save_role(path: Path, user: str, role: BrokerRole) -> None:
    """Record the role of ``user`` (``adapter`` removes the entry: it is the default)."""
    roles = load_roles(path)
    roles.pop(user, None)
    if role != "adapter":
        roles[user] = role
    write_private(path, json.dumps(roles, indent=1, sort_keys=True).encode())


def _check(user: str) -> str:
    if not _SAFE.match(user):
        msg = f"{user!r} cannot be a broker user (letters, digits and . _ : @ ~ - only)"
        raise ConfigError(msg)
    return user


def acl_text(users: Mapping[str, BrokerRole]) -> str:
    """The Mosquitto ACL file granting each user its own topics only."""
    lines = ["# written by omdp broker config: each user its own topics, nothing else", ""]
    for user, role in sorted(users.items()):
        lines.append(f"user {_check(user)}")
        if role == "adapter":
            lines.append(f"topic write smartMeterMessage/{user}/#")
        elif role == "concentrator":
            lines.append(f"topic write concentrator/{user}/#")
            lines.append("topic read smartMeterMessage/#")
            lines.append(f"topic read {receipt_topic(user)}")
        else:
            lines.append("topic read concentrator/#")
            lines.append("topic read $share/+/concentrator/#")
            lines.append(f"topic write {RECEIPTS_ROOT}/#")
        lines.append("")
    return "\n".join(lines)


def password_text(hashes: Mapping[str, str]) -> str:
    """The Mosquitto password file: ``user:$7$...`` lines."""
    for user, hashed in hashes.items():
        if not hashed.startswith("$7$") or "\n" in hashed:
            msg = f"{user}: not a Mosquitto $7$ hash"
            raise ConfigError(msg)
    return "".join(f"{_check(u)}:{h}\n" for u, h in sorted(hashes.items()))


@dataclass(frozen=True, slots=True)
class BrokerTls:
    """The TLS listener of a site broker."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    port: int = 8883
    bind: str | None = None
    require_certificate: bool = False
    cert_identity: bool = False


def conf_text(
    folder: Path,
    tls: BrokerTls,
    *,
    localhost_port: int | None = None,
    persistence: bool = True,
) -> str:
    """A complete ``mosquitto.conf`` for a site, its files in ``folder``.

    Args:
        folder: Where ``password_file``, ``acl_file`` and the persistence file live.
        tls: The TLS listener.
        localhost_port: An optional plaintext listener bound to 127.0.0.1 only (same users).
        persistence: Write the persistence lines (off when embedding in another config).
    """
    security = [
        "allow_anonymous false",
        f"password_file {folder / 'password_file'}",
        f"acl_file {folder / 'acl_file'}",
    ]
    lines = [
        "# written by omdp broker config (CM-1): TLS only, every device its own credentials",
        "per_listener_settings true",
        "max_queued_messages 0",
    ]
    if persistence:
        lines += ["persistence true", f"persistence_location {folder}/", "autosave_interval 60"]
    listener = f"listener {tls.port}" + (f" {tls.bind}" if tls.bind else "")
    lines += [
        "",
        listener,
        *security,
        f"cafile {tls.ca_file}",
        f"certfile {tls.cert_file}",
        f"keyfile {tls.key_file}",
        "tls_version tlsv1.2",
        f"require_certificate {'true' if tls.require_certificate else 'false'}",
    ]
    if tls.cert_identity:
        lines.append("use_identity_as_username true")
    if localhost_port is not None:
        lines += ["", f"listener {localhost_port} 127.0.0.1", *security]
    return "\n".join(lines) + "\n"


def write_broker_config(
    folder: Path,
    hashes: Mapping[str, str],
    roles: Mapping[str, BrokerRole],
    tls: BrokerTls,
    *,
    localhost_port: int | None = None,
    persistence: bool = True,
) -> Path:
    """Write the three files into ``folder`` (mode 600); returns the ``mosquitto.conf`` path."""
    users: dict[str, BrokerRole] = {u: roles.get(u, "adapter") for u in hashes}
    folder.mkdir(parents=True, exist_ok=True)
    write_private(folder / "password_file", password_text(hashes).encode())
    write_private(folder / "acl_file", acl_text(users).encode())
    conf = folder / "mosquitto.conf"
    text = conf_text(folder, tls, localhost_port=localhost_port, persistence=persistence)
    write_private(conf, text.encode())
    return conf
