"""versions.yaml is the one place LPStack versions live: complete, well-formed, and what gets rendered."""

from __future__ import annotations

import re

import pytest
import yaml

from linq.tools import versions as toolchain
from lpstack import render
from lpstack.versions import CHARTS, VERSIONS_FILE, load, parse
from tests.unit.lpstack_helpers import by_kind, full_config, one


def test_every_component_is_pinned() -> None:
    pins = load()
    assert set(CHARTS) <= set(pins.charts)
    assert {"cloudflared", "linq-agent"} <= set(pins.images)
    assert "kubevirt" in pins.manifests
    assert "gvisor" in pins.binaries
    flat = pins.flat()
    assert all(re.match(r"^v?\d+\.\d+(\.\d+)?([+.-][0-9A-Za-z.]+)?$", v) for v in flat.values()), flat
    for name in ("istio-base", "istiod", "istio-cni"):  # one Istio release, not a mix
        assert pins.chart(name).version == pins.chart("istiod").version


def test_k3s_matches_the_devnet_kubernetes_minor() -> None:
    pins = load()
    k3s_minor = re.match(r"^v(\d+\.\d+)\.", pins.kubernetes.k3s).group(1)  # type: ignore[union-attr]
    assert k3s_minor == ".".join(toolchain.KUBERNETES.split(".")[:2])
    assert pins.kubernetes.pod_security_version == f"v{k3s_minor}"


def test_rendered_objects_read_the_pins() -> None:
    pins = load()
    objects = render(full_config())
    for chart in by_kind(objects, "HelmChart"):
        assert chart["spec"]["version"] == pins.chart(chart["metadata"]["name"]).version
    agent = one(objects, "Deployment", "lpstack-agent")
    assert agent["spec"]["template"]["spec"]["containers"][0]["image"] == pins.image("linq-agent")


def test_a_broken_versions_file_is_refused() -> None:
    data = yaml.safe_load(VERSIONS_FILE.read_text())
    del data["charts"]["loki"]
    with pytest.raises(ValueError, match=r"charts \['loki'\] are not pinned"):
        parse(data)
    data = yaml.safe_load(VERSIONS_FILE.read_text())
    data["images"]["cloudflared"] = "cloudflare/cloudflared"
    with pytest.raises(ValueError, match=r"images\.cloudflared must be a tagged image"):
        parse(data)
    data = yaml.safe_load(VERSIONS_FILE.read_text())
    data["charts"]["alloy"]["version"] = "latest"
    with pytest.raises(ValueError, match="version"):
        parse(data)
