"""Request limits: a token bucket per client (the API key's id, else the client address) and a bounded body
read that never buffers more than the limit."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from starlette.requests import Request

from linq.api.errors import ApiError
from linq.api.settings import MAX_BODY

MAX_CLIENTS = 100_000  # buckets kept before idle ones are dropped


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """`rate` requests per second sustained, bursts up to `burst`, per client id. rate <= 0: no limit."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(burst, 1)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> float:
        """0 if the request may go ahead, else the seconds until it would."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                if len(self._buckets) >= MAX_CLIENTS:
                    self._forget_idle(now)
                bucket = self._buckets[client] = _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        """Drop clients whose bucket has refilled: they are indistinguishable from new ones."""
        full = self.burst / self.rate
        for client in [c for c, b in self._buckets.items() if now - b.at >= full]:
            del self._buckets[client]


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refused with 413 as soon as it is over `limit` (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise _too_large(len(raw), limit)
    return raw


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413, "too_large", "body", f"{size} bytes", f"is over the limit of {limit} bytes", "send only the fields named"
    )
