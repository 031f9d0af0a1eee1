"""What `linq providers match` and `linq estimate` share: the requirement flags (read into Requirements by
linq.market.requirements, the reader the API uses too), and opening the registry index (--rpc/--addresses and
the --index cache)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from web3 import Web3

from linq.chain import NetworkProfile, connect, resolve_profile
from linq.cli.options import ADDRESSES, DEVNET_DIR, RPC, F, stack
from linq.market.index import RegistryIndex, UpdateStats
from linq.market.models import GpuClassRecord, ProviderRecord
from linq.units import (
    format_rate,
)

INDEX = click.option(
    "--index",
    "index_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Registry index cache file (default: ~/.cache/linq/market/<chain>-<registry>.json).",
)


def index_options(fn: F) -> F:
    """--devnet-dir, --rpc, --addresses (the shared network options) and --index."""
    return stack(DEVNET_DIR, RPC, ADDRESSES, INDEX)(fn)


def network(devnet_dir: Path | None, rpc: str | None, addresses: Path | None) -> tuple[NetworkProfile, Web3]:
    """The chain these flags name (linq.chain's one resolution: flags, then $LINQ_*, then the devnet)."""
    profile = resolve_profile(devnet_dir=devnet_dir, rpc_url=rpc, addresses=addresses)
    return profile, connect(profile)


def requirement_options(fn: F) -> F:
    options = [
        click.option("--plan", default=None, help="Plan name from templates/plans.yaml (starter … gpu-large)."),
        click.option("--cpu", default=None, help="CPU: cores (2, 0.5) or millicores (1500m)."),
        click.option("--memory", default=None, help="Memory: 512Mi, 4Gi, or MiB."),
        click.option("--storage", default=None, help="Storage: 20Gi, 1Ti, or GiB."),
        click.option("--gpu", default=None, help="GPUs as MODEL:COUNT (nvidia-a100:2) or #CLASS:COUNT (#1:2)."),
        click.option("--duration", default="1h", show_default=True, help="How long: 90m, 1h30m, 24h, 7d or seconds."),
        click.option("--max-price", default=None, help="Hourly ceiling, e.g. '0.05 LNQ/h' or '42 wei/h'."),
        click.option("--max-total", default=None, help="Ceiling for the whole duration, e.g. '5 LNQ' or '42 wei'."),
        click.option("--region", "regions", multiple=True, help="Wanted region (repeatable; 'eu' matches eu-*)."),
        click.option("--min-reputation", type=float, default=0.0, show_default=True, help="Score in [0, 1]."),
        click.option("--allow", multiple=True, help="Only these provider addresses (repeatable)."),
        click.option("--deny", multiple=True, help="Never these provider addresses (repeatable)."),
        click.option("--weights", default=None, help="Ranking weights, e.g. price=0.6,reputation=0.3,headroom=0.1."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _console() -> Console:
    return Console()


def _default_cache(chain_id: int, registry: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "linq" / "market" / f"{chain_id}-{registry.lower()}.json"


def _open_index(
    devnet_dir: Path | None, rpc: str | None, addresses: Path | None, index_path: Path | None
) -> tuple[RegistryIndex, UpdateStats]:
    profile, w3 = network(devnet_dir, rpc, addresses)
    book = profile.book
    cache = index_path or _default_cache(profile.chain_id, book.registry)
    index = RegistryIndex(
        w3, book.registry, cache_path=cache, escrow_address=book.escrow, from_block=book.deployed_block
    )
    return index, index.update()


def _gpu_text(p: ProviderRecord) -> str:
    return ", ".join(f"{g.model} {g.free}/{g.total} @{format_rate(g.price_per_hour)}" for g in p.gpu_classes) or "-"


def _gpu_line(g: GpuClassRecord) -> str:
    return f"#{g.class_id} {g.model}: {g.free} of {g.total} free, {format_rate(g.price_per_hour)} each"


def _index_meta(index: RegistryIndex, stats: UpdateStats) -> dict[str, Any]:
    snap = index.snapshot
    assert snap is not None
    return {
        "chain_id": snap.chain_id,
        "registry": snap.registry,
        "block": snap.block_number,
        "update": stats.reason,
        "providers": len(snap.providers),
        "cache": str(index.cache_path),
    }


def _stale_note(index: RegistryIndex, stats: UpdateStats) -> str:
    s = index.staleness()
    return (
        f"index at block {index.snapshot.block_number if index.snapshot else '?'} ({stats.reason}); "
        f"{s.blocks_behind} blocks / {s.seconds_behind} s behind head {s.head_block}"
    )
