"""API keys: `linq api keys create | list | revoke`, checked on every write (`Authorization: Bearer <key>`).

A key is `lq_<id>_<secret>`: the id (8 hex digits) names it in lists and logs, the secret (32 random bytes)
is shown once at creation and stored only as its SHA-256 (a 256-bit random secret needs no slow hash).
Checks compare digests in constant time. The store is a small interface (`KeyStore`, four methods) with two
implementations, chosen by `open_store(location)`: a SQLite file (safe for several processes on one machine)
and a PostgreSQL database (`postgresql://…`, for API instances on several machines sharing their keys).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from linq.errors import FieldError

PREFIX = "lq_"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at {int} NOT NULL,
    revoked_at {int}
)
"""
T = TypeVar("T")


@dataclass(frozen=True)
class KeyInfo:
    id: str
    name: str
    created_at: int
    revoked_at: int | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "created_at": self.created_at, "revoked_at": self.revoked_at}


class KeyStore(Protocol):
    def create(self, name: str) -> tuple[KeyInfo, str]: ...
    def list(self) -> list[KeyInfo]: ...
    def revoke(self, key_id: str) -> KeyInfo | None: ...
    def check(self, presented: str) -> KeyInfo | None: ...


class KeyStoreUnavailable(Exception):
    """The key store cannot be reached or read (a 503 in the API, exit 3 in the CLI)."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_key(name: str) -> tuple[KeyInfo, str, str]:
    """A fresh key: its info, the digest to store and the key to show once."""
    key_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    return KeyInfo(key_id, name, int(time.time()), None), _digest(secret), f"{PREFIX}{key_id}_{secret}"


def _checked(row: Any, secret: str) -> KeyInfo | None:
    """The info of a stored (id, name, created_at, revoked_at, digest) row when `secret` is its key's and it
    is not revoked."""
    if row is None or row[3] is not None or not hmac.compare_digest(row[4], _digest(secret)):
        return None
    return KeyInfo(*row[:4])


def split(presented: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed key, else None."""
    if not presented.startswith(PREFIX):
        return None
    key_id, sep, secret = presented[len(PREFIX) :].partition("_")
    if not sep or len(key_id) != 8 or not secret:
        return None
    return key_id, secret


class SqliteKeyStore:
    """Keys in one SQLite file (created with mode 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.touch(mode=0o600)
        self._local = threading.local()
        with self._db() as db:
            db.execute(SCHEMA.format(int="INTEGER"))

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10)
            self._local.conn = conn
        return conn

    def create(self, name: str) -> tuple[KeyInfo, str]:
        info, digest, key = _new_key(name)
        with self._db() as db:
            db.execute(
                "INSERT INTO api_keys (id, name, digest, created_at) VALUES (?, ?, ?, ?)",
                (info.id, name, digest, info.created_at),
            )
        return info, key

    def list(self) -> list[KeyInfo]:
        rows = self._db().execute("SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id")
        return [KeyInfo(*row) for row in rows]

    def revoke(self, key_id: str) -> KeyInfo | None:
        with self._db() as db:
            db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (int(time.time()), key_id)
            )
        return next((k for k in self.list() if k.id == key_id), None)

    def check(self, presented: str) -> KeyInfo | None:
        """The key's info if `presented` is a known, unrevoked key; None otherwise."""
        parts = split(presented)
        if parts is None:
            return None
        key_id, secret = parts
        row = (
            self._db()
            .execute("SELECT id, name, created_at, revoked_at, digest FROM api_keys WHERE id = ?", (key_id,))
            .fetchone()
        )
        return _checked(row, secret)


class PostgresKeyStore:
    """Keys in a PostgreSQL database, shared by every API instance that names it: a key created or revoked by
    one is accepted or refused by all from their next request. One connection per thread (autocommit); a
    broken connection is reopened once before the store is reported unavailable. Give the password through
    libpq's PGPASSWORD or ~/.pgpass rather than in the URL (the URL is shown, without its password, in
    errors)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

        def schema(db: Any) -> None:
            with db.transaction():  # instances starting together create the table once
                db.execute("SELECT pg_advisory_xact_lock(hashtext('linq api_keys'))")
                db.execute(SCHEMA.format(int="BIGINT"))

        self._run(schema)

    def _connect(self) -> Any:
        import psycopg

        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            self._local.conn = conn
        return conn

    def _run(self, work: Callable[[Any], T]) -> T:
        import psycopg

        for attempt in (1, 2):
            try:
                return work(self._connect())
            except psycopg.OperationalError as err:
                conn, self._local.conn = getattr(self._local, "conn", None), None
                if conn is not None:
                    conn.close()
                if attempt == 2:
                    where = redact(self.url)
                    raise KeyStoreUnavailable(
                        f"the API key store {where} cannot be reached ({str(err).strip().splitlines()[0]}); "
                        "check that the server runs and --keys / $LINQ_API_KEYS"
                    ) from None
        raise AssertionError("unreachable")

    def create(self, name: str) -> tuple[KeyInfo, str]:
        info, digest, key = _new_key(name)
        self._run(
            lambda db: db.execute(
                "INSERT INTO api_keys (id, name, digest, created_at) VALUES (%s, %s, %s, %s)",
                (info.id, name, digest, info.created_at),
            )
        )
        return info, key

    def list(self) -> list[KeyInfo]:
        rows = self._run(
            lambda db: db.execute(
                "SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id"
            ).fetchall()
        )
        return [KeyInfo(*row) for row in rows]

    def revoke(self, key_id: str) -> KeyInfo | None:
        row = self._run(
            lambda db: db.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, %s) WHERE id = %s "
                "RETURNING id, name, created_at, revoked_at",
                (int(time.time()), key_id),
            ).fetchone()
        )
        return KeyInfo(*row) if row else None

    def check(self, presented: str) -> KeyInfo | None:
        """The key's info if `presented` is a known, unrevoked key; None otherwise."""
        parts = split(presented)
        if parts is None:
            return None
        key_id, secret = parts
        row = self._run(
            lambda db: db.execute(
                "SELECT id, name, created_at, revoked_at, digest FROM api_keys WHERE id = %s", (key_id,)
            ).fetchone()
        )
        return _checked(row, secret)


def redact(url: str) -> str:
    """`url` without a password (postgresql://user:secret@host/db -> postgresql://user:***@host/db)."""
    url = re.sub(r"(://[^:/@?#]*):[^@/?#]*@", r"\1:***@", url)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", url)


def open_store(location: str | Path, field: str = "--keys") -> KeyStore:
    """The key store at `location`: a postgresql:// URL, else a SQLite file's path."""
    text = str(location)
    if text.startswith(POSTGRES_SCHEMES):
        return PostgresKeyStore(text)
    if "://" in text:
        raise FieldError(field, redact(text), "is not a key store", "give a SQLite file's path or a postgresql:// URL")
    return SqliteKeyStore(Path(text))
