"""LPStackConfig validation: strict, and every error names the field, the bad value and the fix."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import yaml

from lpstack import LPStackConfigError, LPStackError, load_config, render
from lpstack.metadata import canonical_json, endpoints, metadata_hash, provider_metadata
from lpstack.versions import load
from tests.unit.lpstack_helpers import PROVIDER, base_data, config, full_config

GW_URL = "https://gateway.apps.example.com"


def _problems(data: dict) -> list[str]:
    with pytest.raises(LPStackConfigError) as caught:
        load_config(data, source="stack.yaml")
    return caught.value.problems


@pytest.mark.parametrize(
    ("overrides", "field", "value", "fix"),
    [
        ({"cluster_name": "Provider_1"}, "cluster_name", "'Provider_1'", "lowercase DNS label"),
        ({"provider_address": "0x1234"}, "provider_address", "'0x1234'", "20-byte hex address"),
        ({"region": ""}, "region", "''", "non-empty"),
        ({"region": "x" * 33}, "region", "'xxxx", "shorten"),
        ({"public_domain": "localhost"}, "public_domain", "'localhost'", "apps.example.com"),
        ({"features": {"istio": "maybe"}}, "features.istio", "'maybe'", "true or false"),
        ({"features": {"kubevirt_gpu": True}}, "features.kubevirt_gpu", "True", "remove it"),
        ({"charts": {"source": "s3"}}, "charts.source", "'s3'", "allowed values"),
        (
            {"charts": {"repository_overrides": {"loki": "http://insecure"}}},
            "charts.repository_overrides",
            "'http://insecure'",
            "https://",
        ),
        ({"tenant_limits": {"sample_limit": 0}}, "tenant_limits.sample_limit", "0", "larger number"),
        ({"agent": {"key_secret": {"name": "Key!", "key": "k"}}}, "agent.key_secret.name", "'Key!'", "DNS label"),
        (
            {
                "agent": {
                    "addresses": {
                        "chain_id": 1,
                        "lnq": "0xnothex",
                        "registry": "0x" + "34" * 20,
                        "escrow": "0x" + "12" * 20,
                        "deployed_block": 0,
                    }
                }
            },
            "agent.addresses",
            "0xnothex",
            "20-byte hex",
        ),
        (
            {"pod_security": {"exempt_namespaces": ["kube-system", "tenant-a"]}},
            "pod_security.exempt_namespaces",
            "tenant-a",
            "enforce=privileged",
        ),
        ({"namespaces": {"monitoring": "kube-system"}}, "namespaces", "kube-system", "its own name"),
        ({"sandbox": {"node_selector": {"bad key!": "x"}}}, "sandbox.node_selector", "bad key!", "label key"),
        ({"gateway": {"tenant_access": "proxy"}}, "gateway.tenant_access", "'proxy'", "allowed values"),
        (
            {"gateway": {"tenant_access": "gateway", "public_url": GW_URL, "kube_proxy": False}},
            "gateway.kube_proxy",
            "false",
            "set kube_proxy: true, or tenant_access: direct",
        ),
        (
            {"gateway": {"tenant_access": "gateway", "public_url": GW_URL, "tenant_server": "https://k8s.example.com"}},
            "gateway.tenant_server",
            "'https://k8s.example.com'",
            "remove tenant_server, or set tenant_access: direct",
        ),
        (
            {"gateway": {"tenant_access": "gateway"}},
            "gateway.public_url",
            "None",
            "set public_url to the https URL your ingress or tunnel serves the gateway at",
        ),
        (
            {"gateway": {"tenant_access": "gateway", "service_type": "NodePort"}},
            "gateway.public_url",
            "None",
            "e.g. https://gateway.apps.example.com",
        ),
        (
            {"gateway": {"public_url": GW_URL}},
            "gateway.public_url",
            repr(GW_URL),
            "set gateway.tenant_access: gateway, or remove public_url",
        ),
        (
            {"gateway": {"tenant_access": "gateway", "public_url": "http://gateway.apps.example.com"}},
            "gateway.public_url",
            "'http://gateway.apps.example.com'",
            "give https://HOST[:PORT]",
        ),
        (
            {"gateway": {"tenant_access": "gateway", "public_url": "https://gateway.apps.example.com/k8s"}},
            "gateway.public_url",
            "/k8s'",
            "give only https://HOST[:PORT]",
        ),
        (
            {"gateway": {"tenant_access": "gateway", "public_url": "https://gw.other.net"}},
            "gateway.public_url",
            "'https://gw.other.net'",
            "set gateway.host: gw.other.net, or use https://gateway.apps.example.com[:PORT]",
        ),
        ({"gateway": {"kube_proxy": "sometimes"}}, "gateway.kube_proxy", "'sometimes'", "true or false"),
    ],
)
def test_each_error_names_field_value_and_fix(overrides: dict, field: str, value: str, fix: str) -> None:
    (problem,) = _problems(base_data(**overrides))
    assert problem.startswith(f"stack.yaml: {field}"), problem
    assert value in problem, problem
    assert fix in problem, problem


def test_missing_fields_are_listed_together() -> None:
    problems = _problems({"region": "eu"})
    assert sorted(p.split(":")[1].strip() for p in problems) == ["cluster_name", "provider_address", "public_domain"]
    assert all("add it" in p for p in problems)


def test_an_inline_tunnel_token_is_refused() -> None:
    data = base_data(features={"cloudflared": True}, cloudflared={"token": "eyJhIjoi..."})
    problems = _problems(data)
    assert any(p.startswith("stack.yaml: cloudflared.token:") and "never inlined" in p for p in problems)


def test_cloudflared_needs_a_token_secret_reference() -> None:
    (problem,) = _problems(base_data(features={"cloudflared": True}))
    assert problem.startswith("stack.yaml: cloudflared.token_secret: required when features.cloudflared is true")
    assert "(got None)" in problem and "create a Secret" in problem


def test_gateway_tenant_access_defaults_to_direct_and_the_public_url_is_normalised() -> None:
    assert config().gateway.tenant_access == "direct" and config().gateway_public_url is None
    assert config().gateway.kube_proxy is True
    via = config(gateway={"tenant_access": "gateway", "public_url": "https://GATEWAY.apps.example.com:443/"})
    assert via.gateway_public_url == GW_URL
    own = config(
        gateway={"tenant_access": "gateway", "host": "gw.example.net", "public_url": "https://gw.example.net:9443"}
    )
    assert own.gateway_public_url == "https://gw.example.net:9443"
    # A LoadBalancer answers at the certificate's name and the Service port: no public_url needed.
    balanced = config(gateway={"tenant_access": "gateway", "service_type": "LoadBalancer", "port": 9443})
    assert balanced.gateway_public_url == "https://gateway.apps.example.com:9443"


def test_provider_address_is_checksummed() -> None:
    assert config(provider_address=PROVIDER.upper().replace("0X", "0x")).provider_address == config().provider_address
    assert config().provider_address != PROVIDER  # mixed case (EIP-55)


def test_config_round_trips_through_yaml() -> None:
    full = full_config()
    again = load_config(yaml.safe_load(yaml.safe_dump(full.model_dump())))
    assert again == full
    assert render(again) == render(full)


def _chart_archive(directory: Path, file_name: str, chart: str, version: str) -> Path:
    path = directory / file_name
    body = yaml.safe_dump({"apiVersion": "v2", "name": chart, "version": version}).encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"{chart}/Chart.yaml")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return path


def test_local_chart_archives_are_checked_against_the_pins(tmp_path: Path) -> None:
    pins = load()
    data = base_data(features={"istio": False}, charts={"source": "local", "local_dir": str(tmp_path)})
    with pytest.raises(LPStackError, match=r"charts.local_dir: kube-prometheus-stack-.*\.tgz is missing.*helm pull"):
        render(load_config(data))
    for name in ("kube-prometheus-stack", "loki", "alloy"):
        pin = pins.chart(name)
        _chart_archive(tmp_path, pin.archive, pin.chart, pin.version)
    assert len(render(load_config(data))) > 0
    loki = pins.chart("loki")
    _chart_archive(tmp_path, loki.archive, "loki", "0.0.1")
    with pytest.raises(LPStackError, match=r"holds chart 'loki' version '0.0.1'.*pins 'loki' '6\.30\.1'"):
        render(load_config(data))
    (tmp_path / loki.archive).write_bytes(b"not a tarball")
    with pytest.raises(LPStackError, match="cannot be read as a chart archive"):
        render(load_config(data))
    missing_dir = base_data(charts={"source": "local", "local_dir": str(tmp_path / "nope")})
    with pytest.raises(LPStackError, match="is not a directory"):
        render(load_config(missing_dir))


def test_metadata_hash_is_keccak_of_canonical_document() -> None:
    from eth_utils import keccak

    full = full_config()
    document = provider_metadata(full)
    assert document["endpoints"] == endpoints(full)
    assert document["region"] == "eu-west"
    assert metadata_hash(full) == "0x" + keccak(text=canonical_json(document)).hex()
    assert len(metadata_hash(full)) == 66
    assert metadata_hash(full) != metadata_hash(full_config(region="us-east"))
    assert endpoints(full)["apps"] == "https://*.apps.example.com"
    assert endpoints(full)["ingress"] == "cloudflare-tunnel"
    assert endpoints(config())["ingress"] == "direct"
