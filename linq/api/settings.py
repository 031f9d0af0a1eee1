"""The service's knobs, one place for their defaults (`linq api serve` shows them as its flags' defaults)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_BODY = 64 * 1024  # bytes; the largest legitimate body is a signed offer or a render request


@dataclass(frozen=True)
class Settings:
    """The service's knobs (`linq api serve` flags)."""

    index_max_age: float = 2.0  # seconds an index read may lag the chain's head
    rate: float = 20.0  # requests per second per client, sustained (0: no limit)
    burst: int = 40
    max_body: int = MAX_BODY
    cors_origins: tuple[str, ...] = ()  # empty: no CORS headers at all
