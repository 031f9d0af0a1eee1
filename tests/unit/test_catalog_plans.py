"""templates/plans.yaml: the one definition of plan sizes."""

from __future__ import annotations

from itertools import pairwise

import pytest

from linq.catalog import load_plans
from linq.catalog.errors import InvalidTemplate, UnknownPlan
from linq.catalog.plans import Resources, parse_plans

PLANS = load_plans()


def test_the_ladder_grows_in_every_dimension() -> None:
    ladder = PLANS.ladder()
    assert [p.name for p in ladder] == ["starter", "basic", "standard", "pro", "gpu-small", "gpu-large"]
    for smaller, larger in pairwise(ladder):
        assert larger.covers(smaller), (smaller.name, larger.name)
        assert larger.ephemeral_storage_gib >= smaller.ephemeral_storage_gib
        assert larger.gpu_count >= smaller.gpu_count
    assert PLANS.get("gpu-small").gpu_count == 1 and PLANS.get("gpu-large").gpu_count > 1
    assert all(p.gpu_count == 0 for p in ladder[:4])


def test_smallest_covering_plan() -> None:
    need = Resources.model_validate({"cpuMillis": 1500, "memoryMiB": 3000, "storageGiB": 20})
    assert PLANS.smallest_covering(need).name == "standard"
    assert PLANS.smallest_covering(need, gpus=1).name == "gpu-small"
    huge = Resources.model_validate({"cpuMillis": 10**6, "memoryMiB": 1, "storageGiB": 0})
    assert PLANS.smallest_covering(huge) is None


def test_unknown_plan_suggests_a_name() -> None:
    with pytest.raises(UnknownPlan, match="did you mean standard"):
        PLANS.get("standart")


def test_a_plans_file_must_order_every_plan() -> None:
    with pytest.raises(InvalidTemplate, match="must list every plan"):
        parse_plans(
            "order: [a]\nplans:\n  a: {title: A, cpuMillis: 1, memoryMiB: 1, storageGiB: 1}\n"
            "  b: {title: B, cpuMillis: 2, memoryMiB: 2, storageGiB: 2}\n"
        )
    with pytest.raises(InvalidTemplate, match="cpuMillis"):
        parse_plans("order: [a]\nplans:\n  a: {title: A, cpuMillis: 0, memoryMiB: 1, storageGiB: 1}\n")
