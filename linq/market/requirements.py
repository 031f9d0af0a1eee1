"""Requirements read from text: the one reader behind `linq providers match`, `linq estimate` and the API's
`/match`, `/estimate` and `/escrow/create` (a plan or explicit resources, a duration, price ceilings and filters).
Fields are named as the CLI's flags (`--cpu`); the API renames them to its parameters."""

from __future__ import annotations

from linq.market.encoding import checksum
from linq.market.models import GpuRequirement, RankingWeights, Requirements
from linq.market.plans import plan_size
from linq.units import (
    UnitError,
    above_zero,
    parse_amount,
    parse_cpu,
    parse_duration,
    parse_memory,
    parse_rate,
    parse_storage,
)


def gpu_requirement(text: str | None) -> GpuRequirement | None:
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


def ranking_weights(text: str | None) -> RankingWeights:
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


def read_requirements(
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
    """Requirements from the flags' text: a plan's size, overridden by explicit resources; every wrong value a
    UnitError naming its flag."""
    cpu_m = mem = sto = 0
    gpu_req = gpu_requirement(gpu)
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
        weights=ranking_weights(weights),
        limit=limit,
    )
