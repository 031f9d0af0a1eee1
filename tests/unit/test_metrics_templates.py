"""The fixed PromQL templates (linq.monitor.metrics): the only queries the toolkit sends, filled with checked
values so no namespace or window can add a selector; and the gateway's unsigned window parameter."""

from __future__ import annotations

import pytest

from linq.gateway import metrics as gateway_metrics
from linq.gateway.message import RequestRefused
from linq.monitor import metrics
from linq.monitor.errors import InputError

NS = "lq-e-" + "ab" * 20


def test_every_template_names_the_namespace_and_excludes_the_resource_copies() -> None:
    for name in metrics.QUERIES:
        query = metrics.fill(name, NS, "2m")
        assert f'namespace="{NS}"' in query, name
        assert "{ns}" not in query and "{window}" not in query
        if "container_" in query:
            assert 'metrics_path!="/metrics/resource"' in query, name


@pytest.mark.parametrize("namespace", ['x"} or up{a="', "lq-e-AB", "a b", "", "-x", "a" * 64, "x\n"])
def test_a_namespace_that_is_not_a_dns_label_is_refused(namespace: str) -> None:
    with pytest.raises(InputError, match="namespace"):
        metrics.fill("cpu", namespace, "2m")


@pytest.mark.parametrize("window", ["1m] or up[1m", "2m)", "", "m", "1.5m", "2 m"])
def test_a_window_that_is_not_a_duration_is_refused(window: str) -> None:
    with pytest.raises(InputError, match="--window"):
        metrics.fill("cpu", NS, window)
    with pytest.raises(RequestRefused) as caught:
        gateway_metrics.check_window(window)
    assert (caught.value.status, caught.value.code) == (400, "malformed")


def test_gateway_window_is_bounded() -> None:
    assert gateway_metrics.check_window("30s") == "30s"
    assert gateway_metrics.check_window("1h") == "1h"
    for window in ("0s", "2h", "1d"):
        with pytest.raises(RequestRefused):
            gateway_metrics.check_window(window)


def test_usage_json_round_trip() -> None:
    usage = metrics.Usage("web", NS, "provider gateway (Prometheus)", cpu_millis=250, memory_bytes=2**26)
    usage.per_pod = {"web-0": {"cpu_millis": 250, "memory_bytes": 2**26}}
    data = {"escrowId": "0x" + "00" * 32, "window": "2m", **usage.to_json()}
    assert metrics.Usage.from_json(data) == usage


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--prometheus", "http://127.0.0.1:9"], "--prometheus"),
        (["--kubeconfig", "/nonexistent"], "--kubeconfig"),
        (["-n", "lq-x"], "--namespace"),
    ],
)
def test_linq_metrics_through_the_gateway_refuses_provider_flags(extra: list[str], flag: str) -> None:
    from click.testing import CliRunner

    from linq.cli import main

    result = CliRunner().invoke(main, ["metrics", "--via-gateway", "--escrow", "0x" + "ab" * 32, *extra])
    assert result.exit_code == 2, result.output
    assert flag in result.output and "--via-gateway" in result.output


def test_linq_metrics_via_gateway_needs_an_escrow() -> None:
    from click.testing import CliRunner

    from linq.cli import main

    result = CliRunner().invoke(main, ["metrics", "--via-gateway"])
    assert result.exit_code == 2, result.output
    assert "--escrow" in result.output


def test_linq_metrics_escrow_alone_asks_for_via_gateway() -> None:
    """The same option set as `status` and `logs`: --escrow names the escrow, --via-gateway picks the path."""
    from click.testing import CliRunner

    from linq.cli import main

    result = CliRunner().invoke(main, ["metrics", "web", "--escrow", "0x" + "ab" * 32])
    assert result.exit_code == 2, result.output
    assert "--escrow" in result.output and "--via-gateway" in result.output
