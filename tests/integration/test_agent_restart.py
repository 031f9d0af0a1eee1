"""The real `linq provider agent` process, SIGKILLed at the worst moments and restarted: right after sending a
`start`, right after sending a `withdrawMany`, between a `finalize` and the namespace deletion, and at a
random point of a running loop. It never starts twice, never loses or repeats a withdrawal, and ends with
the provider paid every deposited wei and both namespaces gone.

The agent runs with the LPStack's own least-privilege RBAC (the rendered ClusterRole, a real service-account
token from the TokenRequest API), so the test also proves those permissions are enough.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from linq.agent import devnet as lab
from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.contracts.terms import Terms
from linq.devnet import Devnet
from linq.devnet.accounts import advance, deployer, fresh_wallet, register_provider
from linq.devnet.kubeapi import KubeAPI, KubeError
from lpstack import load_config
from lpstack.render import render_groups
from tests import waiting
from tests.faultsite.linq_fault_hooks import fault_env

pytestmark = pytest.mark.integration
LINQ = Path(sys.executable).parent / "linq"
SIGKILLED = -signal.SIGKILL


@pytest.fixture(scope="module")
def bank(devnet: Devnet) -> ChainClient:
    return deployer(devnet.state_dir)


@pytest.fixture(scope="module")
def api(devnet: Devnet) -> KubeAPI:
    return KubeAPI.from_kubeconfig(devnet.kubeconfig)


@pytest.fixture
def agent_kubeconfig(api: KubeAPI, devnet: Devnet, tmp_path: Path) -> Iterator[Path]:
    """A kubeconfig holding a token of the LPStack's lpstack-agent service account, bound to its ClusterRole."""
    suffix = uuid.uuid4().hex[:6]
    system = f"lq-agent-sys-{suffix}"
    config = load_config(
        {
            "cluster_name": f"agent-{suffix}",
            "provider_address": "0x" + "ab" * 20,
            "region": "local",
            "public_domain": "apps.example.com",
            "namespaces": {"system": system},
        }
    )
    rbac = [
        o
        for o in render_groups(config)["agent"]
        if o["kind"] in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding")
    ]
    for obj in rbac:  # cluster-scoped names made unique: other tests install the real lpstack-agent ones
        if obj["kind"] == "ClusterRole":
            obj["metadata"]["name"] = f"lpstack-agent-{suffix}"
        if obj["kind"] == "ClusterRoleBinding":
            obj["metadata"]["name"] = f"lpstack-agent-{suffix}"
            obj["roleRef"]["name"] = f"lpstack-agent-{suffix}"
    api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": system}})
    api.post(f"/api/v1/namespaces/{system}/serviceaccounts", next(o for o in rbac if o["kind"] == "ServiceAccount"))
    api.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", next(o for o in rbac if o["kind"] == "ClusterRole"))
    api.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        next(o for o in rbac if o["kind"] == "ClusterRoleBinding"),
    )
    token = api.post(
        f"/api/v1/namespaces/{system}/serviceaccounts/lpstack-agent/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}},
    )["status"]["token"]
    admin = yaml.safe_load(devnet.kubeconfig.read_text())
    admin["users"][0]["user"] = {"token": token}
    path = tmp_path / "agent-kubeconfig"
    path.write_text(yaml.safe_dump(admin))
    try:
        yield path
    finally:
        for url in (
            f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/lpstack-agent-{suffix}",
            f"/apis/rbac.authorization.k8s.io/v1/clusterroles/lpstack-agent-{suffix}",
            f"/api/v1/namespaces/{system}",
        ):
            try:
                api.delete(url)
            except KubeError as err:
                if err.status != 404:
                    raise


class AgentRuns:
    """Starts the agent CLI as a subprocess, each run logging to its own file."""

    def __init__(self, devnet: Devnet, kubeconfig: Path, key: str, work: Path) -> None:
        self.devnet, self.kubeconfig, self.key, self.work = devnet, kubeconfig, key, work
        self.count = 0
        self.logs: list[Path] = []

    def _env(self, fault: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LINQ_", "KUBECONFIG"))}
        env["LINQ_PRIVATE_KEY"] = self.key
        return fault_env(env, kill_at=fault) if fault else env

    def _argv(self, *extra: str) -> list[str]:
        return [
            str(LINQ),
            "provider",
            "agent",
            "--devnet-dir",
            str(self.devnet.state_dir),
            "--kubeconfig",
            str(self.kubeconfig),
            "--state-file",
            str(self.work / "agent-state.json"),
            "--withdraw-every",
            "1h",
            *extra,
        ]

    def spawn(self, *extra: str, fault: str | None = None) -> tuple[subprocess.Popen[bytes], Path]:
        self.count += 1
        log = self.work / f"run-{self.count}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            proc = subprocess.Popen(self._argv(*extra), env=self._env(fault), stdout=out, stderr=subprocess.STDOUT)
        return proc, log

    def once(self, fault: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        proc, log = self.spawn("--once", fault=fault)
        code = proc.wait(timeout=240)
        return code, lines(log)


def lines(log: Path) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def wait_for(predicate: Any, what: str, timeout: float = 180) -> None:
    waiting.wait_for(predicate, what=what, timeout=timeout)


def logs_of(client: ChainClient, name: str, terms: Terms) -> list[Any]:
    event = getattr(client.escrow.events, name)
    return list(event.get_logs(argument_filters={"id": terms.escrow_id}, from_block=client.profile.book.deployed_block))


def test_killed_and_restarted_agent_never_double_starts_nor_loses_a_withdrawal(
    devnet: Devnet, bank: ChainClient, api: KubeAPI, agent_kubeconfig: Path, tmp_path: Path
) -> None:
    key, signer = fresh_wallet(bank, lnq=0)
    provider = ChainClient(bank.profile, signer)
    register_provider(provider, cpu=16_000)
    _rkey, rsigner = fresh_wallet(bank, lnq=100 * 10**18)
    requestor = ChainClient(bank.profile, rsigner)
    escrows = [lab.fund_escrow(requestor, provider.address, seconds=2 * 3600) for _ in range(2)]
    deposits = sum(ops.read_state(bank, t).deposited for t in escrows)
    spaces = []
    for terms in escrows:
        ns = f"lq-agent-{uuid.uuid4().hex[:8]}"
        lab.tenant_namespace(api, ns, escrow_id="0x" + terms.escrow_id.hex(), provider=provider.address)
        lab.create_workload(api, ns, "app", ready=True)
        spaces.append(ns)
    for ns in spaces:
        lab.wait_available(api, ns, "app")
    runs = AgentRuns(devnet, agent_kubeconfig, key, tmp_path)
    started = lambda: [len(logs_of(bank, "Started", t)) for t in escrows]  # noqa: E731

    # Killed right after sending the first start, then the second: each escrow started once.
    code, _ = runs.once(fault="start:after-send")
    assert code == SIGKILLED and sorted(started()) == [0, 1]
    code, _ = runs.once(fault="start:after-send")
    assert code == SIGKILLED and started() == [1, 1]
    code, out = runs.once()
    assert code == 0 and started() == [1, 1]
    assert not [x for x in out if x["event"] == "escrow-started"]

    # Killed right after sending the withdrawal: the restarted agent sees it on chain (Withdrawn events) and
    # keeps the hourly schedule — no second payout, nothing lost.
    advance(bank, 3700)
    code, _ = runs.once(fault="withdrawMany:after-send")
    assert code == SIGKILLED
    paid = [sum(int(e["args"]["amount"]) for e in logs_of(bank, "Withdrawn", t)) for t in escrows]
    assert all(p > 0 for p in paid)
    assert bank.lnq_balance(provider.address) == sum(paid)
    advance(bank, 60)
    code, out = runs.once()
    assert code == 0 and not [x for x in out if x["event"] == "escrow-withdrawn"]
    assert [len(logs_of(bank, "Withdrawn", t)) for t in escrows] == [1, 1]

    # Past the end. Killed between a finalize and its namespace deletion.
    advance(bank, 2 * 3600)
    code, _ = runs.once(fault="agent:after-finalize")
    assert code == SIGKILLED
    assert sorted(len(logs_of(bank, "Finalized", t)) for t in escrows) == [0, 1]
    assert all(lab.namespace_exists(api, ns) for ns in spaces)

    # A running loop, SIGKILLed from outside as soon as it reports its next finalize.
    proc, log = runs.spawn("--interval", "1s")
    try:
        wait_for(lambda: any(x["event"] == "escrow-finalized" for x in lines(log)), "the loop's finalize")
    finally:
        proc.kill()
        assert proc.wait(timeout=30) == SIGKILLED

    # The last run converges and stops cleanly on SIGTERM (sent once it runs: before its handler is installed a
    # SIGTERM kills a starting process by default, which is not what this checks).
    proc, log = runs.spawn("--interval", "1s")
    try:
        wait_for(lambda: any(x["event"] == "agent-started" for x in lines(log)), "the loop's start")
        wait_for(lambda: not any(lab.namespace_exists(api, ns) for ns in spaces), "namespace reclaim")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0 and any(x["event"] == "agent-stopping" for x in lines(log))

    assert started() == [1, 1]
    assert [len(logs_of(bank, "Finalized", t)) for t in escrows] == [1, 1]
    withdrawn = sum(int(e["args"]["amount"]) for t in escrows for e in logs_of(bank, "Withdrawn", t))
    finalized = sum(int(e["args"]["toProvider"]) for t in escrows for e in logs_of(bank, "Finalized", t))
    assert bank.lnq_balance(provider.address) == withdrawn + finalized == deposits
    assert all(ops.read_state(bank, t).status == "Completed" for t in escrows)
    # Every run's output: JSON lines only, and never the key.
    body = key.lower().removeprefix("0x")
    for path in runs.logs:
        text = path.read_text()
        assert body not in text.lower()
        assert all(line.startswith("{") for line in text.splitlines()), path
