"""Users, service clients and issued tokens of the embedded issuer (CL-6, CL-14, APP-5).

One SQLite file (mode 600) holds four tables: ``principals`` (users for the password grant and
service clients for the client-credentials grant, each with a role), ``tokens`` (long-lived
read-only tokens issued by ``omdp token issue``), ``revoked`` (the ``jti`` deny-list) and
``generations`` (a counter per account name, raised when its secret changes or it is removed;
its tokens carry the value they were issued under, claim ``gen``). :meth:`UserStore.refuses`
checks both on every request, so that revoking a token, changing a password or removing an
account refuses the tokens issued before from the next request on. A generation outlives its
account: a name removed and added again does not revive old tokens. Secrets are hashed with
scrypt (stdlib, memory-hard); only the hash is kept.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from omdp.errors import ConfigError
from omdp.security.files import private_file

Role = Literal["owner", "researcher", "operator", "admin", "concentrator"]
Kind = Literal["user", "client"]

ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "owner": ("readings:read", "readings:delete"),
    "researcher": ("readings:read",),
    "operator": ("operate",),
    "admin": ("operate", "registry:write"),
    "concentrator": ("registry:read",),
}
"""The scopes each role is granted (APP-5: authorisation by role). A ``concentrator`` is an
edge's client: it reads which meter belongs to which household, and no readings."""

_N, _R, _P = 2**14, 8, 1
_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="

_SCHEMA = """
CREATE TABLE IF NOT EXISTS principals (
    name TEXT PRIMARY KEY, kind TEXT NOT NULL, role TEXT NOT NULL,
    household_id TEXT, secret_hash TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    jti TEXT PRIMARY KEY, subject TEXT NOT NULL, scopes TEXT NOT NULL,
    household_id TEXT, expires REAL NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS revoked (jti TEXT PRIMARY KEY, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS generations (name TEXT PRIMARY KEY, gen INTEGER NOT NULL);
"""

MAX_TOKEN_LIFE_S = 86400
"""The longest an access token lives (``api.auth.token_ttl_s`` at most): how long an unrecorded
``jti`` stays on the deny-list."""


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    """An scrypt hash ``scrypt$n$r$p$salt$hash`` of ``secret``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, hashed: str) -> bool:
    """Whether ``secret`` matches ``hashed`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = hashed.split("$")
        if scheme != "scrypt":
            return False
        mine = hashlib.scrypt(
            secret.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
        return hmac.compare_digest(mine, base64.b64decode(digest))
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Account:
    """A user or a service client (never its secret)."""

    name: str
    kind: Kind
    role: Role
    household_id: str | None = None

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes its role grants."""
        return ROLE_SCOPES[self.role]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A long-lived token recorded by ``omdp token issue`` (its text is never stored)."""

    jti: str
    subject: str
    scopes: tuple[str, ...]
    household_id: str | None
    expires: float
    revoked: bool


class UserStore:
    """The SQLite file of users, clients and tokens; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        """Open (and create, mode 600) the file at ``path``."""
        self.path = path
        private_file(path)
        with self._db() as db:
            db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        """Name the file only."""
        return f"UserStore({self.path.name!r})"

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:
                yield db
        finally:
            db.close()

    # -- accounts ------------------------------------------------------------------------------

    def add(
        self, name: str, secret: str, *, role: Role, kind: Kind = "user", household: str | None
    ) -> Account:
        """Create a user or client.

        Raises:
            ConfigError: the name exists, the role is unknown, or an owner has no household.
        """
        if role not in ROLE_SCOPES:
            msg = f"unknown role {role!r}; one of {', '.join(ROLE_SCOPES)}"
            raise ConfigError(msg)
        if (role == "owner") != (household is not None):
            msg = "an owner needs --household, and only an owner has one"
            raise ConfigError(msg)
        if not name or len(name) > 256:
            msg = "a name has 1 to 256 characters"
            raise ConfigError(msg)
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO principals VALUES (?, ?, ?, ?, ?, ?)",
                    (name, kind, role, household, hash_secret(secret), time.time()),
                )
        except sqlite3.IntegrityError:
            msg = f"{name!r} exists already"
            raise ConfigError(msg) from None
        return Account(name, kind, role, household)

    def set_secret(self, name: str, secret: str) -> bool:
        """Replace the password or client secret of ``name`` (its tokens end); False when
        unknown."""
        with self._db() as db:
            cur = db.execute(
                "UPDATE principals SET secret_hash = ? WHERE name = ?", (hash_secret(secret), name)
            )
            if cur.rowcount:
                self._next_generation(db, name)
            return cur.rowcount > 0

    def remove(self, name: str) -> bool:
        """Delete ``name`` (its tokens end); False when unknown."""
        with self._db() as db:
            found = db.execute("DELETE FROM principals WHERE name = ?", (name,)).rowcount > 0
            if found:
                self._next_generation(db, name)
            return found

    @staticmethod
    def _next_generation(db: sqlite3.Connection, name: str) -> None:
        db.execute(
            "INSERT INTO generations VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET gen = gen + 1",
            (name,),
        )

    def generation(self, name: str) -> int:
        """The generation the tokens of ``name`` are issued under now."""
        with self._db() as db:
            row = db.execute("SELECT gen FROM generations WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def accounts(self) -> list[Account]:
        """Every user and client, by name."""
        with self._db() as db:
            rows = db.execute(
                "SELECT name, kind, role, household_id FROM principals ORDER BY name"
            ).fetchall()
        return [Account(*row) for row in rows]

    def check(self, name: str, secret: str, *, kind: Kind) -> Account | None:
        """The account if ``secret`` is right; an unknown name costs as much as a wrong one."""
        with self._db() as db:
            row = db.execute(
                "SELECT name, kind, role, household_id, secret_hash FROM principals "
                "WHERE name = ? AND kind = ?",
                (name, kind),
            ).fetchone()
        if row is None:
            verify_secret(secret, _DUMMY)
            return None
        if not verify_secret(secret, row[4]):
            return None
        return Account(row[0], row[1], row[2], row[3])

    # -- tokens --------------------------------------------------------------------------------

    def record_token(
        self, jti: str, subject: str, scopes: tuple[str, ...], household: str | None, exp: float
    ) -> None:
        """Remember an issued long-lived token (for ``omdp token list`` and ``revoke``)."""
        with self._db() as db:
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)",
                (jti, subject, " ".join(scopes), household, exp, time.time()),
            )

    def revoke(self, jti: str, *, expires: float | None = None) -> bool:
        """Put ``jti`` on the deny-list until its token expires: a recorded long-lived token's
        expiry, else ``expires``, else the longest an access token lives. Returns whether it was
        a recorded long-lived token."""
        with self._db() as db:
            row = db.execute("SELECT expires FROM tokens WHERE jti = ?", (jti,)).fetchone()
            until = row[0] if row is not None else expires or time.time() + MAX_TOKEN_LIFE_S
            db.execute("INSERT OR REPLACE INTO revoked VALUES (?, ?)", (jti, until))
            db.execute("DELETE FROM revoked WHERE expires < ?", (time.time() - 86400,))
        return row is not None

    def is_revoked(self, jti: str) -> bool:
        """Whether ``jti`` is on the deny-list."""
        with self._db() as db:
            row = db.execute("SELECT 1 FROM revoked WHERE jti = ?", (jti,)).fetchone()
        return row is not None

    def refuses(self, claims: Mapping[str, Any]) -> bool:
        """Whether a verified token must be refused: its ``jti`` is revoked, or its ``gen`` is
        older than its subject's (the secret changed, or the account was removed)."""
        jti, gen = claims.get("jti"), claims.get("gen")
        with self._db() as db:
            if jti is not None and db.execute(
                "SELECT 1 FROM revoked WHERE jti = ?", (str(jti),)
            ).fetchone():
                return True
            if gen is None:
                return False
            row = db.execute(
                "SELECT gen FROM generations WHERE name = ?", (str(claims.get("sub")),)
            ).fetchone()
        return row is not None and int(row[0]) != gen

    def tokens(self) -> list[IssuedToken]:
        """Every recorded long-lived token, newest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT t.jti, t.subject, t.scopes, t.household_id, t.expires, "
                "r.jti IS NOT NULL FROM tokens t LEFT JOIN revoked r ON r.jti = t.jti "
                "ORDER BY t.created DESC"
            ).fetchall()
        return [IssuedToken(j, s, tuple(sc.split()), h, e, bool(r)) for j, s, sc, h, e, r in rows]
