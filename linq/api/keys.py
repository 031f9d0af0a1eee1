"""API keys: `linq api keys create | list | revoke`, checked on every write (`Authorization: Bearer <key>`).

A key is `lq_<id>_<secret>`: the id (8 hex digits) names it in lists and logs, the secret (32 random bytes)
is shown once at creation and stored only as its SHA-256 (a 256-bit random secret needs no slow hash).
Checks compare digests in constant time. The store is a small interface (`KeyStore`) with one SQLite
implementation today (a file, safe for several processes on one machine); a PostgreSQL store for several
API hosts would implement the same four methods.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

PREFIX = "lq_"
SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
)
"""


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


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


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
            db.execute(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10)
            self._local.conn = conn
        return conn

    def create(self, name: str) -> tuple[KeyInfo, str]:
        key_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
        info = KeyInfo(key_id, name, int(time.time()), None)
        with self._db() as db:
            db.execute(
                "INSERT INTO api_keys (id, name, digest, created_at) VALUES (?, ?, ?, ?)",
                (key_id, name, _digest(secret), info.created_at),
            )
        return info, f"{PREFIX}{key_id}_{secret}"

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
        if row is None or row[3] is not None:
            return None
        if not hmac.compare_digest(row[4], _digest(secret)):
            return None
        return KeyInfo(*row[:4])
