"""What `linq providers match` and `linq estimate` share: the requirement flags, reading them into
Requirements, and opening the registry index (--rpc/--addresses and the --index cache)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from web3 import Web3

from linq.chain import NetworkProfile, connect, resolve_profile
from linq.cli.options import ADDRESSES, DEVNET_DIR, RPC, F, above_zero, stack
from linq.market.encoding import checksum
from linq.market.index import RegistryIndex, UpdateStats
from linq.market.models import GpuClassRecord, GpuRequirement, ProviderRecord, RankingWeights, Requirements
from linq.market.plans import plan_size
from linq.units import (
    UnitError,
    format_rate,
    parse_amount,
    parse_cpu,
    parse_duration,
    parse_memory,
    parse_rate,
    parse_storage,
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


def _gpu_requirement(text: str | None) -> GpuRequirement | None:
    if not text:
        return None
    selector, _, count_text = text.partition(":")
    count_text = count_text or "1"
    if not count_text.isdigit() or int(count_text) < 1:
        raise UnitError("--gpu", text, f"has count {count_text!r}", "write MODEL:COUNT, COUNT ≥ 1, e.g. nvidia-a100:2")
    if selector.startswith("#"):
        if not selector[1:].isdigit():
            raise UnitError("--gpu", text, f"has class {selector!r}, not a number", "write #CLASS:COUNT, e.g. #1:2")
        return GpuRequirement(class_id=int(selector[1:]), count=int(count_text))
    if not selector:
        raise UnitError("--gpu", text, "names no model", "write MODEL:COUNT, e.g. nvidia-a100:2")
    return GpuRequirement(model=selector.lower(), count=int(count_text))


def _weights(text: str | None) -> RankingWeights:
    if not text:
        return RankingWeights()
    values: dict[str, float] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in ("price", "reputation", "headroom"):
            raise UnitError("--weights", key, "is not a weight", "use price, reputation and headroom")
        try:
            values[key] = float(value)
        except ValueError:
            raise UnitError("--weights", f"{key}={value}", "is not a number", "e.g. price=0.6") from None
    return RankingWeights(**values)


def _requirements(
    plan: str | None,
    cpu: str | None,
    memory: str | None,
    storage: str | None,
    gpu: str | None,
    duration: str,
    max_price: str | None,
    max_total: str | None,
    regions: tuple[str, ...],
    min_reputation: float,
    allow: tuple[str, ...],
    deny: tuple[str, ...],
    weights: str | None,
    limit: int | None = None,
) -> Requirements:
    cpu_m = mem = sto = 0
    gpu_req = _gpu_requirement(gpu)
    if plan:
        size = plan_size(plan)
        cpu_m, mem, sto = size.cpu_millis, size.memory_mib, size.storage_gib
        if size.gpu_count and gpu_req is None:
            raise UnitError(
                "--plan",
                plan,
                f"includes {size.gpu_count} GPU(s)",
                f"add --gpu MODEL:{size.gpu_count} to say which model",
            )
    if cpu is not None:
        cpu_m = parse_cpu(cpu, field="--cpu")
    if memory is not None:
        mem = parse_memory(memory, field="--memory")
    if storage is not None:
        sto = parse_storage(storage, field="--storage")
    if not (plan or cpu or memory or storage or gpu):
        raise UnitError(
            "--plan",
            None,
            "is not given, nor are resources",
            "pass --plan NAME or at least one of --cpu/--memory/--storage/--gpu",
        )
    if not (cpu_m or mem or sto or gpu_req):
        raise UnitError("--cpu", cpu, "and the other resources are all zero", "ask for something, e.g. --cpu 1")
    seconds = above_zero("--duration", duration, parse_duration(duration, field="--duration"), "1h")
    ceiling = parse_rate(max_price, field="--max-price") if max_price else None
    if ceiling == 0:
        raise UnitError(
            "--max-price", max_price, "is zero: no provider works for free", "e.g. '0.05 LNQ/h', or omit it"
        )
    total = parse_amount(max_total, field="--max-total") if max_total else None
    if total == 0:
        raise UnitError("--max-total", max_total, "is zero: nothing can be paid", "e.g. '5 LNQ', or omit it")
    return Requirements(
        cpu_millis=cpu_m,
        memory_mib=mem,
        storage_gib=sto,
        gpu=gpu_req,
        duration_seconds=seconds,
        max_price_per_hour=ceiling,
        max_total=total,
        regions=regions,
        min_reputation=min_reputation,
        allow=tuple(checksum(a, field="--allow") for a in allow),
        deny=tuple(checksum(a, field="--deny") for a in deny),
        weights=_weights(weights),
        limit=limit,
    )


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
