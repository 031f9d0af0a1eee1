"""Escrow inputs without a chain: normalisation, every field's error, and the diff rules (hypothesis)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.escrow import EscrowProvider
from linq.chain.escrow_spec import normalise, target_deposit
from linq.contracts.terms import Resources, Terms

PROVIDER = "0x82F61B3A82f745e567b0349Bf327625c6547138E"
OTHER = "0x059afC8DA0a709FAFdadB7eb9ac6E1fb91f76612"
GOOD = {
    "provider": PROVIDER,
    "resources": {"cpu": "500m", "memory": "1Gi", "storage": "10Gi"},
    "duration": "2h",
    "salt_seed": "p/s/linq:escrow:Escrow/web",
}


def test_good_inputs_normalise_exactly() -> None:
    norm, failures = normalise({**GOOD, "deposit": "1.5 LNQ", "max_rate_per_hour": "0.01 LNQ/h"})
    assert failures == []
    assert norm["provider"] == PROVIDER
    assert norm["resources"] == {
        "cpu_millis": 500,
        "memory_mib": 1024,
        "storage_gib": 10,
        "gpu_class": 0,
        "gpu_count": 0,
    }
    assert norm["duration"] == "7200" and norm["deposit"] == str(15 * 10**17)
    assert norm["max_rate_per_hour"] == str(10**16)


def test_wire_floats_round_trip() -> None:
    norm, _ = normalise(GOOD)
    wire = json.loads(json.dumps({**norm, "resources": {k: float(v) for k, v in norm["resources"].items()}}))
    again, failures = normalise(wire)
    assert failures == [] and again == norm


BAD = [
    ("provider", {"provider": "0x123"}, "0x123"),
    ("provider", {"provider": "0x" + "00" * 20}, "zero address"),
    ("provider", {"provider": None}, "not set"),
    ("resources", {"resources": "lots"}, "lots"),
    ("resources", {"resources": {}}, "requests nothing"),
    ("resources.cpu", {"resources": {"cpu": "fast"}}, "fast"),
    ("resources.memory", {"resources": {"memory": "1 parsec"}}, "1 parsec"),
    ("resources.disk", {"resources": {"disk": 5}}, "disk"),
    ("resources.gpu_count", {"resources": {"cpu": 1, "gpu_count": 70000}}, "70000"),
    ("resources.gpu_class", {"resources": {"cpu": 1, "gpu_class": 1.5}}, "1.5"),
    ("duration", {"duration": "soon"}, "soon"),
    ("duration", {"duration": 0}, "0"),
    ("duration", {"duration": None, "deposit": None}, "neither duration nor deposit"),
    ("deposit", {"deposit": "-5"}, "-5"),
    ("deposit", {"deposit": 0}, "zero"),
    ("deposit", {"deposit": f"{2**96} wei"}, "96-bit"),
    ("deposit", {"deposit": "1000"}, "ambiguous"),  # a bare number: LNQ or wei? (issue 11)
    ("deposit", {"deposit": 1.5}, "1.5"),
    ("max_rate_per_hour", {"max_rate_per_hour": "cheap"}, "cheap"),
    ("offer", {"offer": "{not json"}, "not JSON"),
    ("offer", {"offer": {"kind": "something-else"}}, "something-else"),
    ("top_up_policy", {"top_up_policy": "sometimes"}, "sometimes"),
    ("renew", {"renew": "yes"}, "yes"),
    ("chain_id", {"chain_id": "mainnet"}, "mainnet"),
    ("match.candidates", {"provider": None, "match": {"candidates": []}}, "no provider matched"),
    ("salt_seed", {"salt_seed": ""}, "salt_seed"),
    ("colour", {"colour": "blue"}, "not an Escrow input"),
]


@pytest.mark.parametrize(("field", "change", "shown"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_each_bad_input_names_field_value_and_fix(field: str, change: dict, shown: str) -> None:
    _, failures = normalise({**GOOD, **change})
    assert failures, change
    hit = [f for f in failures if f.field == field]
    assert hit, [f.field for f in failures]
    assert shown in hit[0].reason
    assert ";" in hit[0].reason  # the sentence goes on to say what to do


def test_shrinking_is_refused_but_growing_is_fine() -> None:
    olds, _ = normalise(GOOD)
    _, failures = normalise({**GOOD, "duration": "1h"}, olds=olds)
    assert [f.field for f in failures] == ["duration"] and "cannot shrink" in failures[0].reason
    _, failures = normalise({**GOOD, "duration": "3h"}, olds=olds)
    assert failures == []


def test_match_result_supplies_provider_rate_and_gpu_class() -> None:
    match = {"candidates": [{"provider": PROVIDER.lower(), "rate_per_hour": "42", "gpu_class_id": 3}]}
    norm, failures = normalise({**GOOD, "provider": None, "match": match, "resources": {"cpu": 1, "gpu_count": 1}})
    assert failures == []
    assert norm["provider"] == PROVIDER and norm["max_rate_per_hour"] == "42"
    assert norm["resources"]["gpu_class"] == 3


def _state(status: str, deposited: int, rate: int = 3600 * 1000) -> dict:
    norm, _ = normalise(GOOD)
    terms = Terms(OTHER, PROVIDER, Resources(500, 1024, 10), rate, b"\x01" * 32)
    return {**norm, "status": status, "deposited": str(deposited), "terms": terms.to_json()}


@settings(max_examples=60, deadline=None)
@given(
    status=st.sampled_from(["Created", "Active", "Ended", "Stopped", "Completed", "Cancelled"]),
    hours=st.integers(min_value=1, max_value=10_000),
)
def test_diff_rules(status: str, hours: int) -> None:
    provider = EscrowProvider()
    rate = 3600 * 1000
    olds = {
        **_state(status, target_deposit({"duration": str(hours * 3600)}, rate) or 0, rate=rate),
        "duration": str(hours * 3600),
    }
    same = dict(olds)
    assert provider.diff("id", olds, same).changes is False  # diff(x, x): nothing to do
    longer = provider.diff("id", olds, {**same, "duration": str((hours + 1) * 3600)})
    assert longer.replaces == []
    assert longer.changes  # a top-up while open; on a settled escrow the update explains it cannot top up
    bigger = provider.diff("id", olds, {**same, "resources": {**same["resources"], "cpu_millis": 501}})
    assert bigger.replaces == ["resources"] and bigger.delete_before_replace
    moved = provider.diff("id", olds, {**same, "provider": OTHER})
    assert moved.changes
    assert moved.replaces == ([] if status == "Created" else ["provider"])
    renewed = provider.diff("id", olds, {**same, "renew": True})
    assert ("renew" in (renewed.replaces or [])) is (status in ("Stopped", "Completed", "Cancelled"))
