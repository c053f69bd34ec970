"""Mosquitto configuration of a site from the device credentials (CM-1, CL-14).

``omdp broker config --out DIR`` writes three files:

- ``password_file``: ``user:$7$...`` lines, the hashes the credential store already keeps;
- ``acl_file``: per user, only its own topics (Mosquitto denies everything not granted):
  an adapter (user = its meter id) writes ``smartMeterMessage/{id}/#``; a concentrator (user =
  its concentrator id) reads ``smartMeterMessage/{m}/#`` and writes
  ``concentrator/{id}/smartMeterMessage/{m}/#`` and ``concentrator/{id}/alerts/+/{m}`` for the
  meters ``m`` of its site only (the registry's sites, :mod:`omdp.cloud.api.routes.sites`);
  the ingest user alone reads ``concentrator/#`` and ``$share/+/concentrator/#``;
  receipts (:mod:`omdp.receipts`): the ingest writes ``omdp/receipts/#``, a concentrator
  reads only ``omdp/receipts/{id}``;
- ``mosquitto.conf``: ``per_listener_settings true``, one TLS listener (8883, the site CA,
  ``require_certificate`` optional), ``allow_anonymous false``, persistence,
  ``max_queued_messages 0``, ``max_packet_size`` (nothing bigger reaches anyone), and no
  plaintext listener except an optional localhost-only one. Every listener sets
  ``use_username_as_clientid true``: a client's id is its user name, so that no device can
  take over another identity's session (say the ingest's, with ``clean_start=false``) by
  naming its client id; one process per user name (several ingest processes: one user each).

The registry changes while the broker runs (a new adapter, a meter moved to another site):
write the files again and signal the broker (``--reload-pid``: SIGHUP, which makes Mosquitto
read its password and ACL files again without dropping anyone), or leave
``omdp broker config --watch SECONDS`` running to do so whenever they change.

Who is what: ``device-roles.json`` beside the credentials file maps a user to ``concentrator``
or ``ingest``; every other user of the credential store is an adapter.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pwd
import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from omdp.errors import ConfigError
from omdp.security.files import private_dir
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


def site_meters(sites: Mapping[str, str]) -> dict[str, list[str]]:
    """``{concentrator: [its meters]}`` from the registry's ``{meter: concentrator}``."""
    grouped: dict[str, list[str]] = {}
    for meter, concentrator in sorted(sites.items()):
        grouped.setdefault(concentrator, []).append(meter)
    return grouped


def acl_text(
    users: Mapping[str, BrokerRole], sites: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The Mosquitto ACL file granting each user its own topics only; a concentrator those of
    the meters of its site (``sites``: concentrator -> meters)."""
    lines = ["# written by omdp broker config: each user its own topics, nothing else", ""]
    for user, role in sorted(users.items()):
        lines.append(f"user {_check(user)}")
        if role == "adapter":
            lines.append(f"topic write smartMeterMessage/{user}/#")
        elif role == "concentrator":
            lines.append(f"topic read {receipt_topic(user)}")
            for meter in (sites or {}).get(user, ()):
                _check(meter)
                lines.append(f"topic read smartMeterMessage/{meter}/#")
                lines.append(f"topic write concentrator/{user}/smartMeterMessage/{meter}/#")
                lines.append(f"topic write concentrator/{user}/alerts/+/{meter}")
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


DEFAULT_MAX_PACKET = 256 * 1024 + 4096
"""The ingest's largest message (``ingest.max_message_bytes``) plus room for topic and header."""


def conf_text(
    folder: Path,
    tls: BrokerTls,
    *,
    localhost_port: int | None = None,
    persistence: bool = True,
    max_packet_size: int = DEFAULT_MAX_PACKET,
) -> str:
    """A complete ``mosquitto.conf`` for a site, its files in ``folder``.

    Args:
        folder: Where ``password_file``, ``acl_file`` and the persistence file live.
        tls: The TLS listener.
        localhost_port: An optional plaintext listener bound to 127.0.0.1 only (same users).
        persistence: Write the persistence lines (off when embedding in another config).
        max_packet_size: The largest MQTT packet the broker takes (bytes).
    """
    security = [
        "allow_anonymous false",
        "use_username_as_clientid true",
        f"password_file {folder / 'password_file'}",
        f"acl_file {folder / 'acl_file'}",
    ]
    lines = [
        "# written by omdp broker config (CM-1): TLS only, every device its own credentials",
        "per_listener_settings true",
        "max_queued_messages 0",
        f"max_packet_size {max_packet_size}",
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


def reload_broker(pid_file: Path) -> int:
    """Signal the broker whose process id ``pid_file`` holds to read its files again (SIGHUP);
    returns the process id.

    Raises:
        ConfigError: no such file, no process id in it, or no such process.
    """
    try:
        pid = int(pid_file.read_text(encoding="utf-8").split()[0])
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError, IndexError) as exc:
        msg = f"{pid_file}: cannot signal the broker: {exc}"
        raise ConfigError(msg) from None
    return pid


def _copy_tls(folder: Path, tls: BrokerTls) -> BrokerTls:
    """The TLS files copied into ``folder/tls`` (mode 600), for a broker user to own."""
    copies = folder / "tls"
    for source, name in ((tls.ca_file, "ca.crt"), (tls.cert_file, "server.crt")):
        write_private(copies / name, source.read_bytes())
    write_private(copies / "server.key", tls.key_file.read_bytes())
    return dataclasses.replace(
        tls,
        ca_file=copies / "ca.crt",
        cert_file=copies / "server.crt",
        key_file=copies / "server.key",
    )


def _give(folder: Path, owner: str) -> None:
    """Hand ``folder`` and everything in it to the user ``owner`` and its group (0700, 0600):
    Mosquitto started as root drops to that user, then reads its files, which must be its own
    and no one else's."""
    try:
        account = pwd.getpwnam(owner)
    except KeyError:
        msg = f"--owner {owner}: no such user on this machine"
        raise ConfigError(msg) from None
    for path in (folder, *folder.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid)
        path.chmod(0o700 if path.is_dir() else 0o600)


def _reachable(folder: Path, owner: str | None) -> None:
    """Make the missing parents of ``folder`` with mode 0755, and refuse an existing parent that
    ``owner`` cannot pass through.

    The folder itself is private (0700, the broker's own); its parents hold nothing secret.
    Made 0700 like every other private folder, they kept the broker, started as root and then
    its own user, from its files: it did not start (``Unable to open pwfile``).
    """
    missing = []
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    for made in reversed(missing):
        made.mkdir(mode=0o755, exist_ok=True)
        made.chmod(0o755)  # mkdir's mode is masked by the umask
    if owner is None:
        return
    account = pwd.getpwnam(owner)
    for above in folder.parents:
        st = above.stat()
        if st.st_uid == account.pw_uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid == account.pw_gid:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            msg = (
                f"--owner {owner}: {owner} cannot reach {folder}: {above} is mode "
                f"{st.st_mode & 0o777:o}; run chmod o+x {above} (or choose another --out)"
            )
            raise ConfigError(msg)


def write_broker_config(
    folder: Path,
    hashes: Mapping[str, str],
    roles: Mapping[str, BrokerRole],
    tls: BrokerTls,
    *,
    localhost_port: int | None = None,
    persistence: bool = True,
    owner: str | None = None,
    sites: Mapping[str, Sequence[str]] | None = None,
    max_packet_size: int = DEFAULT_MAX_PACKET,
) -> Path:
    """Write the three files into ``folder`` (mode 600); returns the ``mosquitto.conf`` path.

    With ``owner`` (the user Mosquitto runs as, e.g. ``mosquitto``) the TLS files are copied
    into ``folder/tls`` and the folder and its files are handed to that user (needs root).
    """
    users: dict[str, BrokerRole] = {u: roles.get(u, "adapter") for u in hashes}
    if owner is not None:
        try:
            pwd.getpwnam(owner)
        except KeyError:
            msg = f"--owner {owner}: no such user on this machine"
            raise ConfigError(msg) from None
    _reachable(folder, owner)
    private_dir(folder)
    write_private(folder / "password_file", password_text(hashes).encode())
    write_private(folder / "acl_file", acl_text(users, sites).encode())
    conf = folder / "mosquitto.conf"
    if owner is not None:
        tls = _copy_tls(folder, tls)
    text = conf_text(
        folder,
        tls,
        localhost_port=localhost_port,
        persistence=persistence,
        max_packet_size=max_packet_size,
    )
    write_private(conf, text.encode())
    if owner is not None:
        _give(folder, owner)
    return conf
