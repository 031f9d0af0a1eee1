"""The index cache: the fast loader gives exactly what full pydantic validation gives; damage is refused."""

from __future__ import annotations

import json

import pytest

from linq.market.index import IndexSnapshot, _snapshot_from_json
from linq.market.models import BaseRanges, Capacity, GpuClassRecord, ProviderRecord, ReputationCounters


def snapshot() -> IndexSnapshot:
    providers = tuple(
        ProviderRecord(
            address="0x" + f"{n:040x}",
            active=n % 2 == 0,
            registered_at=1_700_000_000 + n,
            region="eu-west",
            meta_hash="0x" + f"{n:064x}",
            total=Capacity(cpu_millis=8000, memory_mib=16384, storage_gib=100),
            used=Capacity(cpu_millis=n, memory_mib=2 * n, storage_gib=n % 7),
            prices=BaseRanges(cpu_per_milli_hour=10**13 + n, memory_per_mib_hour=10**11, storage_per_gib_hour=2**70),
            reputation=ReputationCounters(completed=n, stopped_early=1, cancelled=0, total_earned=n * 10**18),
            gpu_classes=(GpuClassRecord(class_id=1, model="nvidia-a100", total=4, used=1, price_per_hour=3 * 10**18),)
            if n % 3 == 0
            else (),
        )
        for n in range(1, 40)
    )
    return IndexSnapshot(
        chain_id=31337,
        registry="0x" + "11" * 20,
        escrow="0x" + "22" * 20,
        block_number=99,
        block_hash="0x" + "ab" * 32,
        block_timestamp=1_800_000_000,
        indexed_at=1.5,
        open_escrows={"0x" + "cd" * 32: "0x" + "33" * 20},
        providers=providers,
    )


def test_fast_load_equals_full_validation() -> None:
    text = snapshot().model_dump_json()
    full = IndexSnapshot.model_validate_json(text)
    fast = _snapshot_from_json(json.loads(text))
    assert fast == full
    assert fast.providers[2].prices.storage_per_gib_hour == 2**70  # big ints survive as exact ints
    assert [p.reputation.score for p in fast.providers] == [p.reputation.score for p in full.providers]


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["providers"][0].pop("total"),
        lambda d: d["providers"][0]["used"].update(cpu_millis="lots"),
        lambda d: d["providers"][0].update(address=None),
        lambda d: d.update(block_number="x"),
    ],
)
def test_damaged_cache_is_refused(damage) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(snapshot().model_dump_json())
    damage(data)
    with pytest.raises((ValueError, KeyError, TypeError)):
        _snapshot_from_json(data)
