"""When the agent calls a workload ready (and so starts its escrow), from real-shaped API objects: the
Deployment is Available with every replica, the StatefulSet has every replica ready, and in both the
controller has observed the current spec. And which namespace annotations name an escrow."""

from __future__ import annotations

from typing import Any

import pytest

from linq.agent import devnet as lab
from linq.agent.cluster import TenantNamespace, deployment_status, statefulset_status, virtual_machine_status


def with_status(obj: dict[str, Any], *, generation: int = 1, **status: Any) -> dict[str, Any]:
    obj = {**obj, "metadata": {**obj["metadata"], "generation": generation}}
    obj["status"] = status
    return obj


AVAILABLE = [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]


def test_deployment_ready_only_when_available_with_all_replicas_and_observed() -> None:
    base = lab.deployment("ns", "web", ready=True, replicas=2)
    assert deployment_status(base).ready is False  # no status yet
    ok = with_status(base, observedGeneration=1, availableReplicas=2, conditions=AVAILABLE)
    assert deployment_status(ok).ready is True
    cases = {
        "one short": with_status(base, observedGeneration=1, availableReplicas=1, conditions=AVAILABLE),
        "not observed": with_status(
            base, generation=2, observedGeneration=1, availableReplicas=2, conditions=AVAILABLE
        ),
        "not available": with_status(
            base, observedGeneration=1, availableReplicas=2, conditions=[{"type": "Available", "status": "False"}]
        ),
    }
    for name, obj in cases.items():
        status = deployment_status(obj)
        assert status.ready is False, name
        assert status.detail and status.detail != "ready"
    zero = lab.deployment("ns", "web", ready=True, replicas=0)
    zero = with_status(zero, observedGeneration=1, availableReplicas=0, conditions=AVAILABLE)
    assert deployment_status(zero).detail == "scaled to 0 replicas"


def test_deployment_default_replicas_is_one() -> None:
    obj = lab.deployment("ns", "web", ready=True)
    del obj["spec"]["replicas"]
    assert deployment_status(with_status(obj, observedGeneration=1, availableReplicas=1, conditions=AVAILABLE)).ready


def test_statefulset_ready_needs_every_replica_ready() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"replicas": 3}}
    assert statefulset_status(with_status(obj, observedGeneration=1, readyReplicas=3, availableReplicas=3)).ready
    short = statefulset_status(with_status(obj, observedGeneration=1, readyReplicas=3, availableReplicas=2))
    assert short.ready is False and short.detail == "2/3 replicas ready"
    assert not statefulset_status(with_status(obj, generation=4, observedGeneration=3, readyReplicas=3)).ready


def test_virtual_machine_ready_flag() -> None:
    vm = {"metadata": {"name": "vm"}, "status": {"ready": True}}
    assert virtual_machine_status(vm).ready and not virtual_machine_status({"metadata": {"name": "vm"}}).ready


@pytest.mark.parametrize(
    ("annotation", "key"),
    [
        ("0x" + "AB" * 32, "0x" + "ab" * 32),
        (" 0x" + "01" * 32 + " ", "0x" + "01" * 32),
        ("0x" + "ab" * 31, None),
        ("ab" * 32, None),
        ("0x" + "zz" * 32, None),
        ("", None),
    ],
)
def test_escrow_annotation_parsing(annotation: str, key: str | None) -> None:
    ns = TenantNamespace("lq-x", annotation, "", is_tenant=True, terminating=False)
    assert ns.escrow_key == key
