"""Fast checks of the monitor's pure parts: quantities, stack names and outputs, escrow math, the runway
bar, kubeconfig parsing, issue rules on pod objects, and CLI usage errors (exit 2) that need no server."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from linq.cli import main
from linq.monitor.cluster import Cluster
from linq.monitor.errors import InputError
from linq.monitor.escrow import EscrowFigures, from_snapshot, top_up_for
from linq.monitor.issues import find
from linq.monitor.render import runway_bar
from linq.monitor.snapshot import Snapshot, live_state, pod_from_json
from linq.monitor.targets import Target, from_outputs, split_stack
from linq.units import format_mib_bytes, kube_cpu_millis, kube_memory_bytes


@pytest.mark.parametrize(
    ("text", "millis"), [("250m", 250), ("1.5", 1500), ("2", 2000), ("100u", 1), ("0", 0), ("1e3m", 1000)]
)
def test_cpu_quantities(text: str, millis: int) -> None:
    assert kube_cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "nbytes"), [("512Mi", 512 * 2**20), ("1G", 10**9), ("1.5Gi", 3 * 2**29), ("128974848", 128974848)]
)
def test_memory_quantities(text: str, nbytes: int) -> None:
    assert kube_memory_bytes(text) == nbytes


def test_bad_quantity_names_the_value() -> None:
    with pytest.raises(ValueError, match="'12 cores'"):
        kube_cpu_millis("12 cores")
    assert format_mib_bytes(96 * 2**20 + 12_345) == "96.0Mi" and format_mib_bytes(3 * 2**29) == "1536Mi"


def test_stack_names() -> None:
    assert split_stack("dev", None) == ("linq", "dev")
    assert split_stack("apps/dev", None) == ("apps", "dev")
    assert split_stack("organization/apps/dev", "ignored") == ("apps", "dev")
    with pytest.raises(InputError, match="--stack 'a/b/c/d'"):
        split_stack("a/b/c/d", None)


def test_outputs_to_targets_with_escrow_snapshot() -> None:
    outputs = {
        "deployments": {
            "chat": {
                "namespace": "lq-chat-1",
                "endpoint": "http://chat:8080",
                "state": "Running",
                "provider": "0xabc",
                "escrow": {
                    "id": "0x" + "11" * 32,
                    "status": "Active",
                    "deposited": "900",
                    "ratePerHour": "300",
                    "runway": 7200,
                },
            }
        }
    }
    (target,) = from_outputs(outputs, "stack apps/dev")
    assert (target.name, target.namespace, target.escrow_id) == ("chat", "lq-chat-1", "0x" + "11" * 32)
    assert target.escrow_snapshot is not None
    figures = from_snapshot(target.escrow_snapshot)
    assert (figures.deposited, figures.rate_per_hour, figures.runway) == (900, 300, 7200)
    with pytest.raises(InputError, match="no `deployments` output"):
        from_outputs({}, "stack apps/empty")


def _figures(**changes: int | str) -> EscrowFigures:
    base = {
        "escrow_id": "0x" + "22" * 32,
        "status": "Active",
        "deposited": 3 * 10**18,
        "earned": 0,
        "withdrawn": 0,
        "remaining": 3 * 10**18,
        "start": 1000,
        "end": 1000 + 3 * 3600,
        "now": 1000,
        "rate_per_hour": 10**18,
        "runway": 3 * 3600,
        "source": "test",
    }
    base.update(changes)
    return EscrowFigures(**base)  # type: ignore[arg-type]


def test_top_up_rounds_up_to_the_wei() -> None:
    assert top_up_for(_figures(rate_per_hour=7), 1) == 1  # 7/3600 wei, never short
    assert top_up_for(_figures(rate_per_hour=3600), 10) == 10
    assert top_up_for(_figures(rate_per_hour=10**18 + 1), 3600) == 10**18 + 1


def test_runway_bar_fill() -> None:
    assert runway_bar(_figures(), 7200).plain.startswith("█" * 20 + " 100%")
    assert runway_bar(_figures(remaining=0, runway=0), 7200).plain == "░" * 20 + " 0%"
    tiny = runway_bar(_figures(remaining=1, runway=1), 7200).plain
    assert tiny.startswith("█" + "░" * 19)  # anything left shows


def _pod(container_status: dict, *, phase: str = "Running", conditions: list | None = None) -> dict:
    return {
        "metadata": {"name": "web-1", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {
            "nodeName": "n0",
            "containers": [
                {
                    "name": "app",
                    "image": "img:1",
                    "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
                    "readinessProbe": {},
                }
            ],
        },
        "status": {
            "phase": phase,
            "conditions": conditions or [],
            "containerStatuses": [{"name": "app", **container_status}],
        },
    }


def _snapshot(pod: dict, now: dt.datetime) -> Snapshot:
    snap = Snapshot(Target("web", "lq-web"), namespace_exists=True, pods=[pod_from_json(pod)])
    snap.read_at = now
    return snap


def test_rules_on_pod_objects() -> None:
    now = dt.datetime(2026, 1, 1, 1, 0, tzinfo=dt.UTC)
    clean_restarts = _pod(
        {
            "restartCount": 4,
            "ready": True,
            "state": {"running": {"startedAt": "2026-01-01T00:59:00Z"}},
            "lastState": {"terminated": {"exitCode": 0, "reason": "Completed"}},
        }
    )
    assert find(_snapshot(clean_restarts, now), None) == []  # restarts that exit 0 are not a crash loop
    old_oom = _pod(
        {
            "restartCount": 1,
            "ready": True,
            "state": {"running": {"startedAt": "2026-01-01T00:10:00Z"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-01-01T00:10:00Z"}},
        }
    )
    assert find(_snapshot(old_oom, now), None) == []  # 50 minutes ago: history, not an issue
    recent = _snapshot(old_oom, dt.datetime(2026, 1, 1, 0, 12, tzinfo=dt.UTC))
    (oom,) = find(recent, None)
    assert oom.kind == "oom-killed" and oom.details["memory_limit_bytes"] == 256 * 2**20
    stuck = _pod({"restartCount": 0, "ready": False, "state": {"running": {"startedAt": "2026-01-01T00:58:00Z"}}})
    (probe,) = find(_snapshot(stuck, now), None)
    assert probe.kind == "probe-failing" and probe.severity == "warning"


def test_live_states() -> None:
    assert live_state(Snapshot(Target("web", "lq-web"), namespace_exists=False), [])[0] == "Errored"
    assert live_state(Snapshot(Target("web", "lq-web"), namespace_exists=True), [])[0] == "Errored"  # no workload


def test_kubeconfig_inline_ca_and_errors(tmp_path: Path) -> None:
    config = tmp_path / "config"
    ca_data = base64.b64encode(b"PEM").decode()
    config.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:6443/", certificate-authority-data: {ca_data}}}}}]
users: [{{name: u, user: {{token: abc}}}}]
contexts: [{{name: one, context: {{cluster: c, user: u}}}}]
current-context: one
""")
    cluster = Cluster.from_kubeconfig(config)
    assert cluster.server == "https://127.0.0.1:6443" and cluster.token == "abc"
    assert cluster.ca_file is not None and Path(cluster.ca_file).read_bytes() == b"PEM"
    with pytest.raises(InputError, match=r"--context 'two'.*one"):
        Cluster.from_kubeconfig(config, "two")
    with pytest.raises(InputError, match="does not exist"):
        Cluster.from_kubeconfig(tmp_path / "missing")


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = str(tmp_path / "nope.yaml")
    cases = [
        (["logs", "--kubeconfig", missing], "DEPLOYMENT"),
        (["logs", "web", "--since", "0s", "--kubeconfig", missing], "--since '0s'"),
        (["logs", "web", "--since", "yesterday", "--kubeconfig", missing], "'yesterday'"),
        (["status", "web", "--kubeconfig", missing], f"--kubeconfig '{missing}' does not exist"),
        (["metrics", "web", "--window", "5 minutes", "--kubeconfig", missing], "--window '5 minutes'"),
        (["issues", "--runway-threshold", "0s", "--kubeconfig", missing], "--runway-threshold '0s'"),
    ]
    for args, message in cases:
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
