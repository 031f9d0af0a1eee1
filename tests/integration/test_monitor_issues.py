"""`linq issues` and `linq status` against real failure states on the devnet cluster: a crash loop and an
OOM kill and an image pull error and a failing probe (pod status and events written through the API as the
kubelet writes them), an unschedulable pod (the real scheduler), a low runway and an ended escrow (a real
escrow on anvil, time moved with evm_increaseTime)."""

from __future__ import annotations

from pathlib import Path

import pytest

from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.contracts.terms import Resources
from linq.devnet import Devnet
from linq.devnet.accounts import advance, deployer, fresh_wallet, register_provider
from linq.protocol.money import deposit_for
from tests.integration.test_monitor_support import (
    deploy,
    kubelet_event,
    linq,
    linq_json,
    not_ready_conditions,
    now_rfc3339,
    patch_status,
    pods,
    running_pod,
    wait_for,
)

pytestmark = pytest.mark.integration


def _issues(devnet: Devnet, name: str, *extra: str) -> tuple[int, dict]:
    return linq_json("issues", name, "--devnet-dir", str(devnet.state_dir), *extra)


def _kinds(report: dict) -> dict[str, dict]:
    return {issue["kind"]: issue for issue in report["issues"]}


def test_healthy_deployment_has_no_issues_and_is_running(devnet: Devnet) -> None:
    name, namespace, _api = deploy(devnet, "healthy")
    code, report = _issues(devnet, name)
    assert (code, report["issues"], report["states"][name]) == (0, [], "Running")
    code, status = linq_json("status", name, "--devnet-dir", str(devnet.state_dir))
    assert code == 0
    row = status["deployments"][0]
    assert (row["state"], row["namespace"], row["replicas"]) == ("Running", namespace, {"desired": 1, "ready": 1})
    assert row["plan"]["cpu_request_millis"] == 250 and row["plan"]["memory_request_bytes"] == 256 * 2**20


def test_crash_loop_is_found_with_exit_code_and_fix(devnet: Devnet) -> None:
    name, namespace, api = deploy(devnet, "crashy")
    pod = running_pod(api, namespace)
    assert pod is not None
    image = pod["spec"]["containers"][0]["image"]
    patch_status(
        api,
        namespace,
        pod["metadata"]["name"],
        {
            "conditions": not_ready_conditions(),
            "containerStatuses": [
                {
                    "name": "custom",
                    "image": image,
                    "imageID": "",
                    "ready": False,
                    "started": False,
                    "restartCount": 5,
                    "state": {
                        "waiting": {
                            "reason": "CrashLoopBackOff",
                            "message": "back-off 2m40s restarting failed "
                            f"container=custom pod={pod['metadata']['name']}",
                        }
                    },
                    "lastState": {
                        "terminated": {
                            "exitCode": 3,
                            "reason": "Error",
                            "startedAt": now_rfc3339(-70),
                            "finishedAt": now_rfc3339(-60),
                        }
                    },
                }
            ],
        },
    )
    code, report = _issues(devnet, name)
    assert code == 1
    crash = _kinds(report)["crash-loop"]
    assert crash["severity"] == "error" and crash["details"]["last_exit_code"] == 3
    assert "restarted 5 time(s)" in crash["summary"] and "exit code 3" in crash["summary"]
    assert f"linq logs {name} --container custom --previous" in crash["fix"]
    assert report["states"][name] == "Errored"

    code, text, _ = linq("issues", name, "--devnet-dir", str(devnet.state_dir))
    assert code == 1 and "crash-loop" in text and "fix:" in text and "exit code 3" in text
    code, text, _ = linq("status", name, "--devnet-dir", str(devnet.state_dir))
    assert code == 1 and "Errored" in text


def test_oom_kill_and_image_pull_errors(devnet: Devnet) -> None:
    name, namespace, api = deploy(devnet, "oomy")
    pod = running_pod(api, namespace)
    assert pod is not None
    patch_status(
        api,
        namespace,
        pod["metadata"]["name"],
        {
            "conditions": not_ready_conditions(),
            "containerStatuses": [
                {
                    "name": "custom",
                    "image": "ghcr.io/example/app:1.0.0",
                    "imageID": "",
                    "ready": False,
                    "restartCount": 1,
                    "started": False,
                    "state": {
                        "waiting": {
                            "reason": "ErrImagePull",
                            "message": "manifest for ghcr.io/example/app:1.0.0 not found",
                        }
                    },
                    "lastState": {
                        "terminated": {
                            "exitCode": 137,
                            "reason": "OOMKilled",
                            "startedAt": now_rfc3339(-40),
                            "finishedAt": now_rfc3339(-20),
                        }
                    },
                }
            ],
        },
    )
    code, report = _issues(devnet, name)
    kinds = _kinds(report)
    assert code == 1 and {"oom-killed", "image-pull"} <= set(kinds)
    assert "crash-loop" not in kinds  # one OOM kill is not a crash loop
    assert kinds["oom-killed"]["details"]["memory_limit_bytes"] == 256 * 2**20
    assert "256Mi" in kinds["oom-killed"]["summary"] and "larger plan" in kinds["oom-killed"]["fix"]
    assert "not found" in kinds["image-pull"]["summary"] and "tag" in kinds["image-pull"]["fix"]


def test_failing_readiness_probe(devnet: Devnet) -> None:
    name, namespace, api = deploy(devnet, "probey")
    pod = running_pod(api, namespace)
    assert pod is not None
    patch_status(
        api,
        namespace,
        pod["metadata"]["name"],
        {
            "conditions": not_ready_conditions(),
            "containerStatuses": [
                {
                    "name": "custom",
                    "image": "ghcr.io/example/app:1.0.0",
                    "imageID": "",
                    "ready": False,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": now_rfc3339(-120)}},
                }
            ],
        },
    )
    refused = "Readiness probe failed: dial tcp 10.244.0.7:8080: connect: connection refused"
    kubelet_event(api, pod, "Unhealthy", refused, count=4)
    code, report = _issues(devnet, name)
    probe = _kinds(report)["probe-failing"]
    assert code == 1 and probe["details"]["probe"] == "readiness"
    assert "connection refused" in probe["summary"] and "(4x)" in probe["summary"]
    assert report["states"][name] == "Pending"  # not ready, not (yet) errored


def test_unschedulable_pod_needs_more_cpu_than_any_node(devnet: Devnet) -> None:
    # the devnet's largest node has 16 cores; the real scheduler must refuse 64
    name, namespace, api = deploy(devnet, "huge", cpu_millis=64_000, wait_running=False)
    wait_for(
        lambda: any(
            c.get("reason") == "Unschedulable" for p in pods(api, namespace) for c in p["status"].get("conditions", [])
        ),
        what="an Unschedulable pod",
    )
    code, report = _issues(devnet, name)
    issue = _kinds(report)["unschedulable"]
    assert code == 1 and "Insufficient cpu" in issue["summary"]
    assert "smaller plan" in issue["fix"] and "linq providers match" in issue["fix"]
    assert report["states"][name] == "Errored"


@pytest.fixture(scope="module")
def bank(devnet: Devnet) -> ChainClient:
    return deployer(devnet.state_dir)


def test_low_runway_then_ended_escrow_with_workload_running(devnet: Devnet, bank: ChainClient) -> None:
    name, _namespace, _api = deploy(devnet, "funded")
    _key, provider_signer = fresh_wallet(bank, lnq=0)
    provider = ChainClient(bank.profile, provider_signer)
    register_provider(provider, cpu=8000)
    _key, requestor_signer = fresh_wallet(bank, lnq=10**18)
    requestor = ChainClient(bank.profile, requestor_signer)
    resources = Resources(250, 256, 0)
    rate = int(bank.registry.functions.quote(provider.address, resources.as_tuple()).call())
    deposit = deposit_for(rate, 3 * 3600)
    plan = ops.CreatePlan(
        provider=provider.address,
        resources=resources,
        deposit=deposit,
        salt=ops.salt_for(f"monitor-test/{name}"),
        max_rate_per_hour=rate,
    )
    terms, _hashes = ops.create(requestor, plan)
    provider.send(provider.escrow.functions.start(terms.as_tuple()), what="start")
    escrow_id = "0x" + terms.escrow_id.hex()
    flags = ("--escrow", escrow_id, "--devnet-dir", str(devnet.state_dir))

    # fresh: 3h of runway is above the 2h default threshold
    code, report = _issues(devnet, name, *flags)
    assert code == 0 and report["issues"] == []

    now = advance(bank, 2 * 3600)
    state = ops.read_state(bank, terms)
    code, report = _issues(devnet, name, *flags)
    low = _kinds(report)["runway-low"]
    assert code == 1 and low["severity"] == "warning"
    assert low["details"]["runway"] == state.end - now and 0 < state.end - now < 2 * 3600
    want = 12 * 2 * 3600
    assert int(low["details"]["suggested_top_up_wei"]) == -(-rate * (want - (state.end - now)) // 3600)
    assert f"linq escrow top-up {escrow_id}" in low["fix"]
    # a shorter threshold is a script's way to say "fine for now"
    code, report = _issues(devnet, name, *flags, "--runway-threshold", "30m")
    assert code == 0 and report["issues"] == []

    code, status = linq_json("status", name, *flags)
    escrow = status["deployments"][0]["escrow"]
    assert escrow["id"] == escrow_id and escrow["deposited"] == str(deposit)
    assert escrow["remaining"] == str(state.remaining) and escrow["runway"] == state.end - now
    code, text, _ = linq("status", name, *flags)
    assert "█" in text and "empty:" in text

    advance(bank, 2 * 3600)  # past the end: the deposit is all earned, the pods still run
    code, report = _issues(devnet, name, *flags)
    ended = _kinds(report)["escrow-ended-still-running"]
    assert code == 1 and ended["severity"] == "error" and len(ended["details"]["running_pods"]) == 1
    assert "top it up" in ended["fix"] and "state: stopped" in ended["fix"]
    assert "runway-low" not in _kinds(report)


def test_unreachable_cluster_and_bad_input_exit_2(devnet: Devnet, tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "kubeconfig"
    config.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
""")
    code, _out, err = linq("issues", "web", "--kubeconfig", str(config))
    assert code == 3 and f"https://127.0.0.1:{port} does not answer" in err
    code, _out, err = linq("issues", "web", "--devnet-dir", str(devnet.state_dir), "--escrow", "0x12")
    assert code == 2 and "'0x12'" in err and "64 hex digits" in err
    code, _out, err = linq("status", "web", "--devnet-dir", str(devnet.state_dir), "--runway-threshold", "soon")
    assert code == 2 and "--runway-threshold" in err and "'soon'" in err
