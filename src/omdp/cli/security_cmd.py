"""Security commands (CM-1, AD-5, CL-6, CL-7, CL-14): ``certs``, ``user``, ``token``, ``broker``
and ``adapterfile`` groups, registered by :mod:`omdp.cli.main`."""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import click
import yaml

from omdp.cloud.settings import CloudSettings
from omdp.errors import OmdpError
from omdp.settings import load_settings

_CONFIG = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Cloud YAML settings (OMDP_CLOUD_* environment variables override it).",
)


def _settings(config_file: Path | None) -> CloudSettings:
    try:
        return load_settings(CloudSettings, config_file)
    except OmdpError as exc:
        raise click.ClickException(str(exc)) from exc


def _users(config_file: Path | None) -> Any:
    from omdp.cloud.api.security import users_path
    from omdp.security.users import UserStore

    return UserStore(users_path(_settings(config_file)))


def _secret(*, stdin: bool, prompt: str) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return value


def _fail(exc: OmdpError) -> click.ClickException:
    return click.ClickException(str(exc))


# -- certs ---------------------------------------------------------------------------------------


@click.group()
def certs() -> None:
    """A site's private CA and its server and client certificates (keys mode 600)."""


@certs.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="omdp site CA", show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing CA.")
def certs_init(folder: Path, name: str, force: bool) -> None:
    """Create FOLDER/ca.crt and FOLDER/ca.key."""
    from omdp.security.pki import init_ca

    try:
        issued = init_ca(folder, name=name, force=force)
    except OmdpError as exc:
        raise _fail(exc) from exc
    click.echo(f"wrote {issued.cert} and {issued.key}")


@certs.command("server")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.argument("names", nargs=-1)
@click.option("--stem", default="server", show_default=True, help="File name stem.")
def certs_server(folder: Path, names: tuple[str, ...], stem: str) -> None:
    """A server certificate for localhost, 127.0.0.1 and NAMES (DNS names or addresses)."""
    from omdp.security.pki import issue_server

    try:
        issued = issue_server(folder, list(names), stem=stem)
    except OmdpError as exc:
        raise _fail(exc) from exc
    click.echo(f"wrote {issued.cert} and {issued.key}")


@certs.command("client")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.argument("common_name")
def certs_client(folder: Path, common_name: str) -> None:
    """A client certificate with CN = COMMON_NAME (a device, concentrator or service id)."""
    from omdp.security.pki import issue_client

    try:
        issued = issue_client(folder, common_name)
    except OmdpError as exc:
        raise _fail(exc) from exc
    click.echo(f"wrote {issued.cert} and {issued.key}")


# -- users ---------------------------------------------------------------------------------------


@click.group()
def user() -> None:
    """Users (password grant) and service clients (client credentials) of the issuer."""


@user.command("add")
@_CONFIG
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["owner", "researcher", "operator", "admin", "concentrator"]),
    required=True,
    help="concentrator: an edge's client, reading which meter is whose (registry:read).",
)
@click.option("--household", default=None, help="The household of an owner.")
@click.option("--client", is_flag=True, help="A service client: a secret is generated.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(
    *,
    config_file: Path | None,
    name: str,
    role: str,
    household: str | None,
    client: bool,
    password_stdin: bool,
) -> None:
    """Add user (or --client) NAME with ROLE."""
    if client:
        secret = secrets.token_urlsafe(24)
    else:
        secret = _secret(stdin=password_stdin, prompt="password")
    if len(secret) < 8:
        msg = "a password has at least 8 characters"
        raise click.ClickException(msg)
    try:
        account = _users(config_file).add(
            name, secret, role=role, kind="client" if client else "user", household=household
        )
    except OmdpError as exc:
        raise _fail(exc) from exc
    click.echo(f"added {account.kind} {account.name} ({account.role})")
    if client:
        click.echo(f"client_secret: {secret}  (shown once)")


@user.command("list")
@_CONFIG
def user_list(config_file: Path | None) -> None:
    """List users and clients (never their secrets)."""
    for a in _users(config_file).accounts():
        click.echo(f"{a.name}\t{a.kind}\t{a.role}\t{a.household_id or '-'}")


@user.command("remove")
@_CONFIG
@click.argument("name")
def user_remove(config_file: Path | None, name: str) -> None:
    """Remove user or client NAME; its tokens are refused from the next request on."""
    if not _users(config_file).remove(name):
        msg = f"no user {name!r}"
        raise click.ClickException(msg)
    click.echo(f"removed {name}")


@user.command("passwd")
@_CONFIG
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_passwd(config_file: Path | None, name: str, password_stdin: bool) -> None:
    """Set the password of NAME; the tokens issued before are refused from now on."""
    secret = _secret(stdin=password_stdin, prompt="new password")
    if len(secret) < 8:
        msg = "a password has at least 8 characters"
        raise click.ClickException(msg)
    if not _users(config_file).set_secret(name, secret):
        msg = f"no user {name!r}"
        raise click.ClickException(msg)
    click.echo(f"password of {name} changed")


# -- tokens --------------------------------------------------------------------------------------


@click.group()
def token() -> None:
    """Long-lived read-only tokens (revocable) and the issuer's signing key."""


@token.command("issue")
@_CONFIG
@click.option("--subject", required=True, help="Who the token is for (audits).")
@click.option("--household", default=None, help="Confine it to one household.")
@click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True)
def token_issue(config_file: Path | None, subject: str, household: str | None, days: int) -> None:
    """Issue a readings:read token; prints it once, and its id for revoke."""
    from omdp.cloud.api.security import build_issuer

    settings = _settings(config_file)
    issuer = build_issuer(settings)
    scopes = ("readings:read",)
    text, claims = issuer.sign(
        subject=subject, scopes=scopes, household=household, ttl_s=days * 86400
    )
    issuer.users.record_token(claims["jti"], subject, scopes, household, claims["exp"])
    click.echo(f"jti: {claims['jti']}")
    click.echo(text)


@token.command("revoke")
@_CONFIG
@click.argument("token_or_jti")
def token_revoke(config_file: Path | None, token_or_jti: str) -> None:
    """Revoke a token, named by its jti or its text: refused from the next request on.

    Works for every token the issuer signed: long-lived ones (`token list` shows their jti)
    and access tokens of logins and clients. To end every token of an account, change its
    secret (`user passwd`) or remove it (`user remove`).
    """
    import jwt

    jti, expires = token_or_jti.strip(), None
    if jti.count(".") == 2:  # the token itself: take its jti and expiry (no trust needed)
        try:
            claims = jwt.decode(jti, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            msg = f"not a token: {exc}"
            raise click.ClickException(msg) from None
        if "jti" not in claims:
            msg = "this token has no jti: it cannot be revoked alone (change the secret)"
            raise click.ClickException(msg)
        jti, expires = str(claims["jti"]), float(claims.get("exp", 0)) or None
    recorded = _users(config_file).revoke(jti, expires=expires)
    click.echo(f"revoked {jti}" + ("" if recorded else " (an access token)"))


@token.command("list")
@_CONFIG
def token_list(config_file: Path | None) -> None:
    """List issued long-lived tokens (never their text)."""
    for t in _users(config_file).tokens():
        until = time.strftime("%Y-%m-%d", time.gmtime(t.expires))
        state = "revoked" if t.revoked else ("expired" if t.expires < time.time() else "valid")
        click.echo(f"{t.jti}\t{t.subject}\t{' '.join(t.scopes)}\t{until}\t{state}")


@token.command("rotate-key")
@_CONFIG
def token_rotate_key(config_file: Path | None) -> None:
    """New signing key; the old one stays in the JWKS until its tokens have expired."""
    from omdp.cloud.api.security import keys_path
    from omdp.security.keys import Keyring

    settings = _settings(config_file)
    kid = Keyring(keys_path(settings)).rotate(keep_s=settings.api.auth.token_ttl_s + 60)
    click.echo(f"active key {kid}")


# -- broker --------------------------------------------------------------------------------------


@click.group()
def broker() -> None:
    """Mosquitto files of a site: passwords, ACLs, configuration."""


@broker.command("passwd")
@_CONFIG
@click.argument("name")
@click.option("--role", type=click.Choice(["adapter", "concentrator", "ingest"]), default="adapter")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def broker_passwd(config_file: Path | None, name: str, role: str, password_stdin: bool) -> None:
    """Set the MQTT password and role of NAME (a concentrator or the ingest user)."""
    from omdp.cloud.api.credentials import FileCredentialStore, hash_password
    from omdp.security.broker import roles_path, save_role

    settings = _settings(config_file)
    secret = _secret(stdin=password_stdin, prompt="password")
    path = settings.api.credentials_file
    FileCredentialStore(path).put(name, hash_password(secret))
    save_role(roles_path(path), name, role)  # type: ignore[arg-type]
    click.echo(f"{name}: {role}")


@broker.command("config")
@_CONFIG
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--ca", "ca_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--cert", "cert_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8883, show_default=True)
@click.option("--require-certificate", is_flag=True, help="Clients must show a certificate.")
@click.option("--cert-identity", is_flag=True, help="The certificate's CN is the user name.")
@click.option("--localhost-port", type=click.IntRange(1, 65535), default=None)
@click.option(
    "--max-packet-size",
    type=click.IntRange(1024, 256 * 1024 * 1024),
    default=256 * 1024 + 4096,
    show_default=True,
    help="The largest MQTT packet the broker takes (bytes).",
)
@click.option(
    "--owner",
    default=None,
    help="The user the broker runs as (e.g. mosquitto): the files (and copies of the TLS "
    "files) are handed to it, mode 600 in a 700 folder. Needs root.",
)
@click.option(
    "--reload-pid",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The broker's pid file: SIGHUP it after writing (it reads users and ACL again).",
)
@click.option(
    "--watch",
    type=click.FloatRange(1, 86400),
    default=None,
    help="Keep running: every SECONDS write the files again and, when users or sites changed, "
    "signal the broker (with --reload-pid).",
)
def broker_config(
    *,
    config_file: Path | None,
    out: Path,
    ca_file: Path,
    cert_file: Path,
    key_file: Path,
    port: int,
    require_certificate: bool,
    cert_identity: bool,
    localhost_port: int | None,
    max_packet_size: int,
    owner: str | None,
    reload_pid: Path | None,
    watch: float | None,
) -> None:
    """Write OUT/password_file, OUT/acl_file and OUT/mosquitto.conf.

    Users come from the device credentials (and their roles), each concentrator's meters from
    the registry's sites (the cloud's database). Write them again, and signal the broker, after
    devices or sites change: --reload-pid once, or --watch to keep doing it.
    """
    from omdp.security.broker import BrokerTls, reload_broker

    settings = _settings(config_file)
    tls = BrokerTls(
        ca_file=ca_file.resolve(),
        cert_file=cert_file.resolve(),
        key_file=key_file.resolve(),
        port=port,
        require_certificate=require_certificate,
        cert_identity=cert_identity,
    )
    folder = out.resolve()
    options = {"localhost_port": localhost_port, "owner": owner, "max_packet_size": max_packet_size}
    first = True
    while True:
        before = _broker_files(folder)
        try:
            conf, users = _write_broker(settings, folder, tls, options)
            changed = _broker_files(folder) != before
            if watch is None or changed or first:
                owned = f", owned by {owner}" if owner else ""
                again = f"; writing again every {watch:g} s" if watch and first else ""
                click.echo(f"wrote {conf} for {users} user(s){owned}{again}")
                first = False
            if reload_pid is not None and (changed or watch is None):
                click.echo(f"signalled the broker (pid {reload_broker(reload_pid)})")
        except OmdpError as exc:
            if watch is None:
                raise _fail(exc) from exc
            # a watcher outlives a database restart or a broker between pid files
            click.echo(f"Error: {exc}; trying again in {watch:g} s", err=True)
        if watch is None:
            return
        time.sleep(watch)


def _broker_files(folder: Path) -> tuple[bytes, ...]:
    names = ("password_file", "acl_file", "mosquitto.conf")
    return tuple((folder / n).read_bytes() if (folder / n).exists() else b"" for n in names)


def _write_broker(
    settings: CloudSettings, folder: Path, tls: Any, options: dict[str, Any]
) -> tuple[Path, int]:
    """Write the broker's files from the credentials, roles and the registry's sites."""
    from omdp.cloud.storage import open_store
    from omdp.security.broker import load_roles, roles_path, site_meters, write_broker_config

    path = settings.api.credentials_file
    hashes: dict[str, str] = json.loads(path.read_text("utf-8")) if path.exists() else {}
    store = open_store(settings.db.url, pool_size=1)
    try:
        sites = site_meters(store.meter_sites())
    finally:
        store.close()
    conf = write_broker_config(
        folder, hashes, load_roles(roles_path(path)), tls, sites=sites, **options
    )
    return conf, len(hashes)


# -- adapter files -------------------------------------------------------------------------------


@click.group()
def adapterfile() -> None:
    """Sign, verify and encrypt adapter configuration files (AD-5)."""


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(doc, dict):
        msg = f"{path}: not a mapping"
        raise click.ClickException(msg)
    return doc


def _write(path: Path, doc: dict[str, Any]) -> None:
    from omdp.security.keys import write_private

    if path.suffix == ".json":
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    write_private(path, text.encode())


@adapterfile.command("public-key")
@_CONFIG
def adapterfile_public_key(config_file: Path | None) -> None:
    """Print the cloud's trust key for OMDP_ADAPTER_TRUST_KEY (created on first use)."""
    from omdp.cloud.api.security import config_signing_key
    from omdp.security.protect import trust_string

    click.echo(trust_string(config_signing_key(_settings(config_file)).public_key()))


@adapterfile.command("sign")
@_CONFIG
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def adapterfile_sign(config_file: Path | None, file: Path) -> None:
    """Sign FILE in place with the cloud's key."""
    from omdp.cloud.api.security import config_signing_key
    from omdp.security.protect import sign_document

    _write(file, sign_document(_read(file), config_signing_key(_settings(config_file))))
    click.echo(f"signed {file}")


@adapterfile.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--trust", required=True, help="ed25519:<base64> or a PEM public key file.")
def adapterfile_verify(file: Path, trust: str) -> None:
    """Check the signature of FILE."""
    from omdp.security.protect import (
        decrypt_secrets,
        fernet_from_env,
        load_trust_key,
        verify_document,
    )

    try:
        doc = decrypt_secrets(_read(file), fernet_from_env(), source=str(file))
        verify_document(doc, load_trust_key(trust), source=str(file))
    except OmdpError as exc:
        raise _fail(exc) from exc
    click.echo(f"{file}: signature valid")


@adapterfile.command("encrypt-secrets")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Fernet key file; created (mode 600) when missing. Keep it outside the file's folder.",
)
def adapterfile_encrypt_secrets(file: Path, key_file: Path) -> None:
    """Encrypt CloudAuth.password and token, and a DLMS Meter.key and authKey, of FILE in place
    (AD-5)."""
    from cryptography.fernet import Fernet

    from omdp.security.keys import write_private
    from omdp.security.protect import encrypt_secrets

    if not key_file.exists():
        write_private(key_file, Fernet.generate_key())
    fernet = Fernet(key_file.read_bytes().strip())
    _write(file, encrypt_secrets(_read(file), fernet))
    click.echo(f"encrypted the secrets of {file}; set OMDP_ADAPTER_SECRET_KEY_FILE={key_file}")


__all__ = ["adapterfile", "broker", "certs", "token", "user"]
