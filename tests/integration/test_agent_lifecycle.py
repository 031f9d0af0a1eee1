"""The provider agent, in process, against the devnet's anvil and Kubernetes API (real contracts, real
Deployments on kwok nodes): it starts an escrow only once its Deployment is Available, withdraws on its
schedule to the wei, finalizes after the end and deletes the namespace, tears down stopped and cancelled
escrows' namespaces, and leaves namespaces of other providers or unknown escrows alone."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from linq.agent import ActionLog, Agent, Cluster, Settings
from linq.agent import devnet as lab
from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.contracts.terms import Resources, Terms
from linq.devnet import Devnet
from linq.devnet.accounts import advance, deployer, fresh_wallet, register_provider
from linq.devnet.kubeapi import KubeAPI
from linq.protocol.money import earned

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bank(devnet: Devnet) -> ChainClient:
    return deployer(devnet.state_dir)


@pytest.fixture(scope="module")
def api(devnet: Devnet) -> KubeAPI:
    return KubeAPI.from_kubeconfig(devnet.kubeconfig)


def new_provider(bank: ChainClient) -> ChainClient:
    _key, signer = fresh_wallet(bank, lnq=0)
    client = ChainClient(bank.profile, signer)
    register_provider(client, cpu=16_000)
    return client


def new_requestor(bank: ChainClient) -> ChainClient:
    _key, signer = fresh_wallet(bank, lnq=100 * 10**18)
    return ChainClient(bank.profile, signer)


AgentFactory = Callable[..., tuple[Agent, io.StringIO]]


@pytest.fixture
def make_agent(devnet: Devnet, tmp_path: Path) -> AgentFactory:
    def build(provider: ChainClient, **settings: Any) -> tuple[Agent, io.StringIO]:
        out = io.StringIO()
        settings.setdefault("state_file", tmp_path / f"agent-{provider.address}.json")
        agent = Agent(provider, Cluster.connect(devnet.kubeconfig), Settings(**settings), ActionLog(out))
        return agent, out

    return build


def events(client: ChainClient, name: str, escrow_id: bytes) -> list[Any]:
    event = getattr(client.escrow.events, name)
    return list(event.get_logs(argument_filters={"id": escrow_id}, from_block=client.profile.book.deployed_block))


def key(terms: Terms) -> str:
    return "0x" + terms.escrow_id.hex()


def tenant(api: KubeAPI, terms: Terms, *, ready: bool) -> str:
    name = f"lq-agent-{uuid.uuid4().hex[:8]}"
    lab.tenant_namespace(api, name, escrow_id=key(terms), provider=terms.provider)
    lab.create_workload(api, name, "app", ready=ready)
    return name


def json_lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_start_when_available_withdraw_finalize_reclaim(
    bank: ChainClient, api: KubeAPI, make_agent: AgentFactory
) -> None:
    provider, requestor = new_provider(bank), new_requestor(bank)
    terms = lab.fund_escrow(requestor, provider.address, seconds=3 * 3600)
    eid = key(terms)
    deposited = ops.read_state(bank, terms).deposited
    agent, out = make_agent(provider, withdraw_every=3600)

    # No namespace yet: discovered, waiting.
    report = agent.reconcile_once()
    assert eid in report.discovered and "no tenant namespace" in report.waiting[eid]

    # The namespace and a Deployment whose pods cannot schedule: still not started.
    ns = tenant(api, terms, ready=False)
    report = agent.reconcile_once()
    assert "Deployment" in report.waiting[eid] and not report.started
    assert ops.read_state(bank, terms).status == "Created" and events(bank, "Started", terms.escrow_id) == []

    # Available -> started, exactly once.
    lab.make_schedulable(api, ns, "app")
    lab.wait_available(api, ns, "app")
    report = agent.reconcile_once()
    assert list(report.started) == [eid]
    assert agent.reconcile_once().started == {}
    started = events(bank, "Started", terms.escrow_id)
    assert len(started) == 1
    start = int(started[0]["args"]["start"])
    assert ops.read_state(bank, terms).status == "Active"

    # The first withdrawal is due an hour after the start; the provider gets exactly what was earned.
    before = bank.lnq_balance(provider.address)
    advance(bank, 1800)
    assert agent.reconcile_once().withdraw_txs == []
    advance(bank, 1800)
    report = agent.reconcile_once()
    assert len(report.withdraw_txs) == 1
    block = bank.w3.eth.get_transaction_receipt(report.withdraw_txs[0])["blockNumber"]
    at = int(bank.w3.eth.get_block(block)["timestamp"])
    expected = earned(deposited, terms.rate_per_hour, start, at)
    assert report.withdrawn == {eid: expected}
    assert bank.lnq_balance(provider.address) - before == expected == ops.read_state(bank, terms).withdrawn

    # Not due again until an hour of chain time has passed, though more has been earned.
    advance(bank, 600)
    report = agent.reconcile_once()
    assert report.withdraw_txs == [] and ops.read_state(bank, terms).withdrawable > 0
    advance(bank, 3000)
    report = agent.reconcile_once()
    assert len(report.withdraw_txs) == 1 and report.withdrawn[eid] > 0

    # Past the end: finalized (the remainder paid), namespace deleted, escrow retired from the state.
    advance(bank, 3 * 3600)
    report = agent.reconcile_once()
    assert list(report.finalized) == [eid] and report.reclaimed == [ns]
    lab.wait_namespace_gone(api, ns)
    assert ops.read_state(bank, terms).status == "Completed"
    withdrawn = sum(int(e["args"]["amount"]) for e in events(bank, "Withdrawn", terms.escrow_id))
    final = events(bank, "Finalized", terms.escrow_id)
    assert len(final) == 1 and withdrawn + int(final[0]["args"]["toProvider"]) == deposited
    assert bank.lnq_balance(provider.address) - before == deposited
    agent.reconcile_once()
    assert eid in agent.state.done

    lines = json_lines(out)
    for event in ("escrow-started", "escrow-withdrawn", "escrow-finalized", "namespace-deleted"):
        line = next(x for x in lines if x["event"] == event)
        assert line["escrow_id"] == eid
        if event != "namespace-deleted":
            assert line["tx"].startswith("0x") and len(line["tx"]) == 66
    assert next(x for x in lines if x["event"] == "escrow-withdrawn")["amount"] == str(expected)


def test_stopped_and_cancelled_escrows_are_torn_down(bank: ChainClient, api: KubeAPI, make_agent: AgentFactory) -> None:
    provider, requestor = new_provider(bank), new_requestor(bank)
    running = lab.fund_escrow(requestor, provider.address, seconds=3600)
    waiting = lab.fund_escrow(requestor, provider.address, seconds=3600)
    ns_running, ns_waiting = tenant(api, running, ready=True), tenant(api, waiting, ready=False)
    lab.wait_available(api, ns_running, "app")
    agent, _out = make_agent(provider)
    assert list(agent.reconcile_once().started) == [key(running)]

    advance(bank, 900)
    ops.stop(requestor, running)
    ops.cancel(requestor, waiting)
    report = agent.reconcile_once()
    assert sorted(report.reclaimed) == sorted([ns_running, ns_waiting])
    assert not report.started and not report.finalized and not report.errors
    lab.wait_namespace_gone(api, ns_running)
    lab.wait_namespace_gone(api, ns_waiting)
    # Stopping paid the provider what it earned; the agent had nothing to withdraw or finalize.
    assert events(bank, "Stopped", running.escrow_id) and events(bank, "Finalized", running.escrow_id) == []


def test_namespaces_of_others_are_left_alone(bank: ChainClient, api: KubeAPI, make_agent: AgentFactory) -> None:
    provider, other, requestor = new_provider(bank), new_provider(bank), new_requestor(bank)
    theirs = lab.fund_escrow(requestor, other.address, seconds=3600)
    ours = lab.fund_escrow(requestor, provider.address, seconds=3600)
    ops.cancel(requestor, theirs)  # settled: an agent holding it would delete its namespace
    names = {
        "theirs": tenant(api, theirs, ready=True),
        "unknown": f"lq-agent-{uuid.uuid4().hex[:8]}",
        "claims-other-provider": f"lq-agent-{uuid.uuid4().hex[:8]}",
        "no-tenant-label": f"lq-agent-{uuid.uuid4().hex[:8]}",
        "theirs-claims-us": f"lq-agent-{uuid.uuid4().hex[:8]}",
    }
    lab.tenant_namespace(api, names["unknown"], escrow_id="0x" + "ee" * 32, provider=provider.address)
    lab.tenant_namespace(api, names["claims-other-provider"], escrow_id=key(ours), provider=other.address)
    lab.tenant_namespace(
        api, names["no-tenant-label"], escrow_id=key(ours), provider=provider.address, tenant_label=False
    )
    lab.tenant_namespace(api, names["theirs-claims-us"], escrow_id=key(theirs), provider=provider.address)
    agent, out = make_agent(provider)
    try:
        report = agent.reconcile_once()
        for ns in names.values():
            assert ns in report.left_alone, ns
            assert lab.namespace_exists(api, ns)
        assert f"belongs to provider {other.address}" in report.left_alone[names["theirs"]]
        assert "not an escrow of provider" in report.left_alone[names["theirs-claims-us"]]
        assert "not an escrow of provider" in report.left_alone[names["unknown"]]
        assert f"belongs to provider {other.address}" in report.left_alone[names["claims-other-provider"]]
        assert "lacks the linq.network/tenant label" in report.left_alone[names["no-tenant-label"]]
        # Our own escrow has no namespace of its own, so it waits; the foreign ones never count as its namespace.
        assert "no tenant namespace" in report.waiting[key(ours)]
        reported = [x for x in json_lines(out) if x["event"] == "namespace-left-alone"]
        assert {x["namespace"] for x in reported} >= set(names.values())
        # A second pass reports nothing new (one line per namespace per process), and still deletes nothing.
        agent.reconcile_once()
        assert len([x for x in json_lines(out) if x["event"] == "namespace-left-alone"]) == len(reported)
        assert all(lab.namespace_exists(api, ns) for ns in names.values())
    finally:
        for ns in names.values():
            lab.delete_namespace(api, ns)


def test_withdraw_batches_and_skips_small_amounts(bank: ChainClient, api: KubeAPI, make_agent: AgentFactory) -> None:
    provider, requestor = new_provider(bank), new_requestor(bank)
    big = [
        lab.fund_escrow(requestor, provider.address, seconds=7200, resources=Resources(4000, 4096, 10))
        for _ in range(2)
    ]
    small = lab.fund_escrow(requestor, provider.address, seconds=7200, resources=Resources(100, 64, 1))
    spaces = [tenant(api, t, ready=True) for t in [*big, small]]
    for ns in spaces:
        lab.wait_available(api, ns, "app")
    try:
        agent, _out = make_agent(provider, withdraw_every=0)
        assert len(agent.reconcile_once().started) == 3
        advance(bank, 1200)
        states = {key(t): ops.read_state(bank, t) for t in [*big, small]}
        threshold = states[key(small)].withdrawable * 2  # well above the small one, well below the big ones
        assert all(states[key(t)].withdrawable > threshold for t in big)
        agent.settings = Settings(withdraw_every=0, min_withdraw=threshold, state_file=agent.settings.state_file)
        before = bank.lnq_balance(provider.address)
        report = agent.reconcile_once()
        assert len(report.withdraw_txs) == 1  # one withdrawMany for both
        assert set(report.withdrawn) == {key(t) for t in big}
        assert bank.lnq_balance(provider.address) - before == sum(report.withdrawn.values())
        assert ops.read_state(bank, small).withdrawn == 0
    finally:
        for ns in spaces:
            lab.delete_namespace(api, ns)


def test_declines_what_it_cannot_start_before_the_window_closes(
    bank: ChainClient, api: KubeAPI, make_agent: AgentFactory
) -> None:
    """An escrow whose deployment never shows up is declined `decline_before` seconds before its start deadline:
    the requestor gets the deposit back and the provider's reputation does not count it as unanswered."""
    provider, requestor = new_provider(bank), new_requestor(bank)
    terms = lab.fund_escrow(requestor, provider.address, seconds=3600)
    eid = key(terms)
    deposited = ops.read_state(bank, terms).deposited
    agent, out = make_agent(provider)  # decline_before: one hour of a one-day window
    report = agent.reconcile_once()
    assert "no tenant namespace" in report.waiting[eid] and not report.declined
    assert ops.read_state(bank, terms).status == "Created"

    window = int(bank.escrow.functions.START_WINDOW().call())
    agent.settings = Settings(decline_before=window, state_file=agent.settings.state_file)
    before = bank.lnq_balance(requestor.address)
    report = agent.reconcile_once()
    assert list(report.declined) == [eid] and not report.errors
    assert ops.read_state(bank, terms).status == "Cancelled"
    assert bank.lnq_balance(requestor.address) - before == deposited
    assert tuple(bank.registry.functions.getProvider(provider.address).call()[8]) == (0, 0, 0, 0)
    declined = [x for x in json_lines(out) if x["event"] == "escrow-declined"]
    assert [x["escrow_id"] for x in declined] == [eid] and declined[0]["tx"] == report.declined[eid]
    assert not agent.reconcile_once().declined  # settled now: nothing more to do


def test_withdraws_singly_when_the_batch_is_refused(bank: ChainClient, make_agent: AgentFactory) -> None:
    """A withdrawMany the node refuses (here: more gas than a block holds, with the block gas limit lowered between
    what one withdrawal and what the batch needs) does not hold back the earnings: the agent withdraws each escrow
    on its own, to the wei."""
    provider, requestor = new_provider(bank), new_requestor(bank)
    escrows = [lab.fund_escrow(requestor, provider.address, seconds=7200) for _ in range(5)]
    for t in escrows:
        provider.send(provider.escrow.functions.start(t.as_tuple()), what="start")
    advance(bank, 1200)
    agent, out = make_agent(provider, withdraw_every=0)
    w3 = bank.w3
    original = int(w3.eth.get_block("latest")["gasLimit"])
    sender = {"from": provider.address}
    batch_gas = int(provider.escrow.functions.withdrawMany([t.as_tuple() for t in escrows]).estimate_gas(sender))
    single_gas = int(provider.escrow.functions.withdraw(escrows[0].as_tuple()).estimate_gas(sender))
    limit = (
        single_gas * 6 // 5 + batch_gas
    ) // 2  # a single withdrawal with the agent's 20 % margin fits; the batch not
    assert single_gas * 6 // 5 < limit < batch_gas
    before = bank.lnq_balance(provider.address)
    try:
        w3.provider.make_request("anvil_setBlockGasLimit", [hex(limit)])  # type: ignore[arg-type]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        report = agent.reconcile_once()
    finally:
        w3.provider.make_request("anvil_setBlockGasLimit", [hex(original)])  # type: ignore[arg-type]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert not report.errors, report.errors
    assert set(report.withdrawn) == {key(t) for t in escrows}
    assert len(report.withdraw_txs) == len(escrows)  # one withdraw per escrow
    assert bank.lnq_balance(provider.address) - before == sum(report.withdrawn.values())
    for t in escrows:
        state = ops.read_state(bank, t)
        assert state.withdrawn == report.withdrawn[key(t)] > 0
    assert [x["escrows"] for x in json_lines(out) if x["event"] == "withdraw-batch-reverted"] == [len(escrows)]
