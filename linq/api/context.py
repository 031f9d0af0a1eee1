"""What the handlers read: one network profile, a chain client without a key, the registry index kept
current (refreshed from chain events at most every `index_max_age` seconds, under a lock), the matcher's
compiled columns and the JSON rows of the current snapshot (made once per snapshot), and the catalog."""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linq.api.settings import Settings
from linq.catalog import load_catalog
from linq.catalog.catalog import Catalog
from linq.chain import ChainClient, NetworkProfile
from linq.market.index import IndexSnapshot, RegistryIndex, UpdateStats
from linq.market.match import CompiledProviders, compile_providers
from linq.market.models import ProviderRecord


@dataclass(frozen=True)
class View:
    """One index snapshot and what is derived from it once."""

    snapshot: IndexSnapshot
    stats: UpdateStats
    compiled: CompiledProviders
    by_address: dict[str, ProviderRecord]
    rows: list[dict[str, Any]]

    def meta(self) -> dict[str, Any]:
        return {
            "chain_id": self.snapshot.chain_id,
            "registry": self.snapshot.registry,
            "block": self.snapshot.block_number,
            "update": self.stats.reason,
            "providers": len(self.snapshot.providers),
        }


def summary_row(p: ProviderRecord) -> dict[str, Any]:
    """The list row of a provider: the record without reputation detail and GPU classes in short."""
    free = p.free
    return {
        "address": p.address,
        "active": p.active,
        "region": p.region,
        "free": free.model_dump(),
        "total": p.total.model_dump(),
        "prices": p.prices.model_dump(mode="json"),
        "gpu_classes": [
            {"class_id": g.class_id, "model": g.model, "free": g.free, "total": g.total} for g in p.gpu_classes
        ],
        "reputation": round(p.reputation.score, 6),
        "gateway": p.gateway.url if p.gateway else None,
    }


class ApiContext:
    def __init__(
        self,
        profile: NetworkProfile,
        settings: Settings | None = None,
        *,
        index_cache: Path | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.profile = profile
        self.settings = settings or Settings()
        self.chain = ChainClient(profile)
        book = profile.book
        self.index = RegistryIndex(
            self.chain.w3,
            book.registry,
            cache_path=index_cache,
            escrow_address=book.escrow,
            from_block=book.deployed_block,
        )
        self.catalog = catalog or load_catalog()
        self._lock = threading.Lock()
        self._view: View | None = None
        self._checked = 0.0

    @functools.cached_property
    def min_prepaid_seconds(self) -> int:
        """The Escrow's minimum prepaid time: an immutable of the contract, read once."""
        return self.chain.min_prepaid_seconds()

    def view(self) -> View:
        """The index, brought up to the chain's head if the last check is older than index_max_age."""
        with self._lock:
            if self._view is not None and time.monotonic() - self._checked < self.settings.index_max_age:
                return self._view
            stats = self.index.update()
            self._checked = time.monotonic()
            snap = self.index.snapshot
            assert snap is not None
            if self._view is None or self._view.snapshot is not snap:
                self._view = View(
                    snap,
                    stats,
                    compile_providers(snap.providers),
                    {p.address: p for p in snap.providers},
                    [summary_row(p) for p in snap.providers],
                )
            return self._view
