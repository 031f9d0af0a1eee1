"""Matching on crafted registries: every rejection reason, ties, exact fits, GPU classes, lists, weights."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address

from linq.market.match import compile_providers, match
from linq.market.models import (
    BaseRanges,
    Capacity,
    GpuClassRecord,
    GpuRequirement,
    ProviderRecord,
    RankingWeights,
    ReasonCode,
    ReputationCounters,
    Requirements,
)
from linq.protocol.money import deposit_for

GWEI = 10**9
LNQ = 10**18


def addr(n: int) -> str:
    return to_checksum_address("0x" + f"{n:040x}")


def provider(
    n: int,
    *,
    active: bool = True,
    region: str = "eu-west",
    total: tuple[int, int, int] = (8000, 16384, 100),
    used: tuple[int, int, int] = (0, 0, 0),
    prices: tuple[int, int, int] = (1000 * GWEI, 100 * GWEI, 10_000 * GWEI),
    completed: int = 20,
    stopped: int = 0,
    cancelled: int = 0,
    gpus: tuple[GpuClassRecord, ...] = (),
) -> ProviderRecord:
    return ProviderRecord(
        address=addr(n),
        active=active,
        registered_at=1_700_000_000,
        region=region,
        meta_hash="0x" + "ab" * 32,
        total=Capacity(cpu_millis=total[0], memory_mib=total[1], storage_gib=total[2]),
        used=Capacity(cpu_millis=used[0], memory_mib=used[1], storage_gib=used[2]),
        prices=BaseRanges(cpu_per_milli_hour=prices[0], memory_per_mib_hour=prices[1], storage_per_gib_hour=prices[2]),
        reputation=ReputationCounters(
            completed=completed, stopped_early=stopped, cancelled=cancelled, total_earned=completed * LNQ
        ),
        gpu_classes=gpus,
    )


def a100(class_id: int = 1, total: int = 4, used: int = 0, price: int = LNQ) -> GpuClassRecord:
    return GpuClassRecord(class_id=class_id, model="nvidia-a100", total=total, used=used, price_per_hour=price)


def test_exact_capacity_fit_is_accepted_and_one_unit_more_is_rejected_with_the_shortfall() -> None:
    p = provider(1, total=(4000, 8192, 50), used=(1000, 192, 10))  # free: 3000, 8000, 40
    exact = match([p], Requirements(cpu_millis=3000, memory_mib=8000, storage_gib=40))
    assert [c.provider for c in exact.candidates] == [p.address]
    assert exact.rejected == ()

    over = match([p], Requirements(cpu_millis=4500, memory_mib=8001, storage_gib=41))
    assert over.candidates == ()
    (rejection,) = over.rejected
    messages = [r.message for r in rejection.reasons]
    assert messages == [
        "insufficient CPU by 1500 millicores",
        "insufficient memory by 1 MiB",
        "insufficient storage by 1 GiB",
    ]
    assert rejection.reasons[0].detail == {"short": 1500, "free": 3000, "unit": "millicores"}


def test_every_reason_is_collected_not_just_the_first() -> None:
    bad = provider(
        7,
        active=False,
        region="us-east",
        total=(1000, 1024, 10),
        prices=(10**15, 0, 0),
        completed=0,
        cancelled=30,
    )
    req = Requirements(
        cpu_millis=2000,
        memory_mib=2048,
        storage_gib=20,
        regions=("eu-west",),
        min_reputation=0.6,
        max_price_per_hour=10**15,
        max_total=10**15,
        duration_seconds=7200,
        allow=(addr(1),),
        deny=(addr(7),),
    )
    result = match([bad], req)
    (rejection,) = result.rejected
    assert set(rejection.codes) == {
        ReasonCode.DENIED,
        ReasonCode.NOT_ALLOWED,
        ReasonCode.INACTIVE,
        ReasonCode.REGION,
        ReasonCode.REPUTATION,
        ReasonCode.CPU,
        ReasonCode.MEMORY,
        ReasonCode.STORAGE,
        ReasonCode.PRICE,
        ReasonCode.TOTAL,
    }
    by_code = {r.code: r.message for r in rejection.reasons}
    assert by_code[ReasonCode.DENIED] == "denied by list"
    assert by_code[ReasonCode.NOT_ALLOWED] == "not in allow list"
    assert by_code[ReasonCode.INACTIVE] == "inactive"
    assert by_code[ReasonCode.REGION] == "region us-east not in [eu-west]"
    # 0 successes out of 30 with the 2/4 prior: 2/34.
    assert by_code[ReasonCode.REPUTATION] == "reputation 0.0588 below 0.6"
    # rate = 2000 * 1e15 = 2 LNQ/h; ceiling 0.001 LNQ/h; over by 1.999
    assert by_code[ReasonCode.PRICE] == "price above ceiling by 1.999 LNQ/h"
    assert by_code[ReasonCode.TOTAL] == "total cost above ceiling by 3.999 LNQ for 2h"


def test_price_message_is_exact_to_the_wei() -> None:
    # rate = 1000 millicores * 42 wei... choose numbers so the excess is 0.0042 LNQ/h exactly.
    p = provider(1, prices=(10**13, 0, 0))  # 1000 m -> 0.01 LNQ/h
    result = match([p], Requirements(cpu_millis=1000, max_price_per_hour=58 * 10**14))  # 0.0058
    (reason,) = result.rejected[0].reasons
    assert reason.message == "price above ceiling by 0.0042 LNQ/h"
    assert reason.detail["over_wei"] == str(42 * 10**14)


def test_gpu_by_model_picks_the_cheapest_class_with_room_and_prices_it() -> None:
    cheap_full = a100(class_id=1, total=2, used=2, price=LNQ)
    dear_free = a100(class_id=2, total=8, used=0, price=3 * LNQ)
    p = provider(1, prices=(0, 0, 0), gpus=(cheap_full, dear_free))
    no_gpu = provider(2)
    h100 = provider(3, gpus=(GpuClassRecord(class_id=1, model="nvidia-h100", total=8, used=0, price_per_hour=LNQ),))
    short = provider(4, gpus=(a100(class_id=5, total=4, used=3),))
    req = Requirements(gpu=GpuRequirement(model="nvidia-a100", count=2), duration_seconds=1800)
    result = match([p, no_gpu, h100, short], req)
    (best,) = result.candidates
    assert best.provider == p.address and best.gpu_class_id == 2
    assert best.rate_per_hour == 6 * LNQ and best.total_cost == 3 * LNQ
    assert best.resources(req).gpu_class == 2 and best.resources(req).gpu_count == 2
    messages = {r.provider: [x.message for x in r.reasons] for r in result.rejected}
    assert messages[no_gpu.address] == ["GPU class nvidia-a100 not offered"]
    assert messages[h100.address] == ["GPU class nvidia-a100 not offered"]
    assert messages[short.address] == ["insufficient GPU nvidia-a100 by 1 (1 free)"]


def test_gpu_by_class_id() -> None:
    p = provider(1, gpus=(a100(class_id=3),))
    ok = match([p], Requirements(gpu=GpuRequirement(class_id=3, count=4)))
    assert ok.best is not None and ok.best.gpu_class_id == 3
    missing = match([p], Requirements(gpu=GpuRequirement(class_id=4)))
    assert missing.rejected[0].reasons[0].message == "GPU class #4 not offered"


def test_ties_are_broken_by_address_ascending_whatever_the_input_order() -> None:
    twins = [provider(n) for n in (0xC, 0xA, 0xB)]
    for order in (twins, twins[::-1], [twins[1], twins[2], twins[0]]):
        result = match(order, Requirements(cpu_millis=1000))
        assert [c.provider for c in result.candidates] == [addr(0xA), addr(0xB), addr(0xC)]
        assert [c.rank for c in result.candidates] == [1, 2, 3]
        assert len({c.score.total for c in result.candidates}) == 1


def test_weights_change_the_ranking() -> None:
    cheap_new = provider(1, prices=(500 * GWEI, 0, 0), completed=0)  # reputation 0.5
    dear_trusted = provider(2, prices=(1000 * GWEI, 0, 0), completed=200)  # reputation ~0.99
    req = Requirements(cpu_millis=1000)
    by_price = match(
        [cheap_new, dear_trusted],
        req.model_copy(update={"weights": RankingWeights(price=1, reputation=0, headroom=0)}),
    )
    by_rep = match(
        [cheap_new, dear_trusted],
        req.model_copy(update={"weights": RankingWeights(price=0, reputation=1, headroom=0)}),
    )
    assert [c.provider for c in by_price.candidates] == [cheap_new.address, dear_trusted.address]
    assert [c.provider for c in by_rep.candidates] == [dear_trusted.address, cheap_new.address]
    assert by_price.candidates[1].score.price == 0.5


def test_headroom_prefers_the_emptier_provider_when_all_else_is_equal() -> None:
    busy = provider(1, used=(6000, 0, 0))
    idle = provider(2)
    result = match(
        [busy, idle], Requirements(cpu_millis=1000, weights=RankingWeights(price=1, reputation=1, headroom=1))
    )
    assert result.best is not None and result.best.provider == idle.address
    assert result.candidates[0].score.headroom == pytest.approx(7 / 8)
    assert result.candidates[1].score.headroom == pytest.approx(1 / 8)


def test_region_matches_sub_regions_and_ignores_case() -> None:
    ps = [provider(1, region="eu-west-2"), provider(2, region="EU-central"), provider(3, region="europe")]
    result = match(ps, Requirements(regions=("EU",)))
    assert {c.provider for c in result.candidates} == {addr(1), addr(2)}
    assert result.rejected[0].reasons[0].message == "region europe not in [eu]"


def test_allow_and_deny_lists_accept_any_address_case() -> None:
    ps = [provider(n) for n in range(1, 5)]
    result = match(ps, Requirements(allow=(addr(1).lower(), "0x" + addr(2)[2:].upper()), deny=(addr(2),)))
    assert [c.provider for c in result.candidates] == [addr(1)]
    assert result.rejection(addr(2)).codes == (ReasonCode.DENIED,)  # type: ignore[union-attr]
    assert result.rejection(addr(3)).codes == (ReasonCode.NOT_ALLOWED,)  # type: ignore[union-attr]


def test_total_cost_is_the_ceil_deposit_and_limit_keeps_the_best() -> None:
    ps = [provider(n, prices=(n * 7, 0, 0)) for n in range(1, 6)]
    req = Requirements(cpu_millis=1, duration_seconds=1, limit=2)
    result = match(ps, req)
    assert [c.rate_per_hour for c in result.candidates] == [7, 14]
    assert [c.total_cost for c in result.candidates] == [1, 1]  # ceil(7/3600), ceil(14/3600)
    assert result.considered == 5 and len(result.rejected) == 0


def test_json_dump_writes_wei_as_strings_and_includes_rejections() -> None:
    result = match([provider(1), provider(2, active=False)], Requirements(cpu_millis=1000))
    data = result.model_dump(mode="json")
    assert data["candidates"][0]["rate_per_hour"] == str(1000 * 1000 * GWEI)
    assert data["rejected"][0]["reasons"][0]["code"] == "inactive"


def test_matches_ten_thousand_providers_completely() -> None:
    """Correctness at scale; the speed (target < 50 ms) is measured by bench/match.py, not asserted here."""
    ps = [
        provider(
            n,
            region=("eu-west", "us-east", "ap-south")[n % 3],
            used=((n * 37) % 8000, (n * 101) % 16384, n % 100),
            prices=(500 * GWEI + n, 100 * GWEI, 10_000 * GWEI),
            completed=n % 50,
            gpus=(a100(used=n % 5),) if n % 4 == 0 else (),
        )
        for n in range(1, 10_001)
    ]
    compiled = compile_providers(ps)
    req = Requirements(
        cpu_millis=2000,
        memory_mib=4096,
        storage_gib=20,
        regions=("eu",),
        min_reputation=0.6,
        max_price_per_hour=3 * LNQ,
        gpu=GpuRequirement(model="nvidia-a100", count=2),
    )
    result = match(compiled, req)
    assert result.considered == 10_000 and result.candidates
    assert len(result.candidates) + len(result.rejected) == 10_000
    assert result.best == result.candidates[0]
    expected = deposit_for(result.candidates[0].rate_per_hour, req.duration_seconds)
    assert result.candidates[0].total_cost == expected
