"""The provider's placement of tenant pods: namespace annotations the API server's PodNodeSelector and
PodTolerationRestriction admission plugins apply (the pods are checked on the real node in
tests/integration/test_real_node_stack.py), the gateway's flags, and the lease LimitRange of small plans."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from linq.catalog.spec import RenderOptions
from linq.chain.errors import InputError
from linq.cli.gateway import _placement
from linq.contracts.terms import Resources, Terms
from linq.gateway import bundle

PROVIDER = "0x" + "11" * 20
REQUESTOR = "0x" + "22" * 20


def _objects(placement: bundle.TenantPlacement | None, memory_mib: int = 1024, cpu_millis: int = 500) -> list[dict]:
    size = Resources(cpu_millis=cpu_millis, memory_mib=memory_mib)
    terms = Terms(REQUESTOR, PROVIDER, size, 10**15, b"\x01" * 32)
    return bundle.objects(terms, RenderOptions(), placement=placement)


def test_placement_annotates_the_tenant_namespace() -> None:
    placement = bundle.TenantPlacement(
        node_selector={"pool": "real", "linq.network/real-node": "true"},
        tolerations=({"key": "linq.network/real-node", "operator": "Equal", "value": "true", "effect": "NoSchedule"},),
    )
    namespace = _objects(placement)[0]
    assert namespace["kind"] == "Namespace"
    annotations = namespace["metadata"]["annotations"]
    assert annotations[bundle.ANNOTATION_NODE_SELECTOR] == "linq.network/real-node=true,pool=real"
    assert json.loads(annotations[bundle.ANNOTATION_DEFAULT_TOLERATIONS]) == list(placement.tolerations)


def test_no_placement_leaves_the_namespace_as_before() -> None:
    for placement in (None, bundle.TenantPlacement()):
        annotations = _objects(placement)[0]["metadata"]["annotations"]
        assert not {bundle.ANNOTATION_NODE_SELECTOR, bundle.ANNOTATION_DEFAULT_TOLERATIONS} & set(annotations)


def test_gateway_flags_parse_to_a_placement() -> None:
    placement = _placement(
        ("linq.network/real-node=true",), ("linq.network/real-node=true:NoSchedule", "gpu:NoExecute")
    )
    assert placement.node_selector == {"linq.network/real-node": "true"}
    assert placement.tolerations == (
        {"key": "linq.network/real-node", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
        {"key": "gpu", "operator": "Exists", "effect": "NoExecute"},
    )


@pytest.mark.parametrize(
    ("selectors", "tolerations", "flag"),
    [
        (("pool",), (), "--tenant-node-selector"),
        ((), ("pool=x",), "--tenant-toleration"),
        ((), ("a=b:Never",), "--tenant-toleration"),
    ],
)
def test_bad_gateway_placement_flags_name_the_flag(selectors, tolerations, flag: str) -> None:
    with pytest.raises(InputError, match=flag):
        _placement(selectors, tolerations)


def test_gateway_help_lists_the_placement_flags() -> None:
    from linq.cli.gateway import gateway

    out = CliRunner().invoke(gateway, ["--help"]).output
    assert "--tenant-node-selector" in out and "--tenant-toleration" in out


def test_lease_limit_defaults_never_exceed_a_small_plan() -> None:
    """The API server refuses a LimitRange whose default is above its max (a 64 MiB, 50 m lease did)."""
    limits = next(o for o in _objects(None, memory_mib=64, cpu_millis=50) if o["kind"] == "LimitRange")["spec"][
        "limits"
    ][0]
    assert limits["default"]["memory"] == limits["defaultRequest"]["memory"] == limits["max"]["memory"] == "64Mi"
    assert limits["default"]["cpu"] == limits["max"]["cpu"] == "50m"
    big = next(o for o in _objects(None) if o["kind"] == "LimitRange")["spec"]["limits"][0]
    assert big["default"] == {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "256Mi"}
