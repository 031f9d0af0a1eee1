"""No allowance is ever left behind: every failure between the approve and the create / top-up it serves, on
the real chain, with faults injected at the money path's checkpoints (tests/faultsite). After each case the
payer's allowance to the Escrow contract is what it was before (zero, or an allowance the payer had set
itself), and refusals that can be known in advance (balance, status, capacity) send nothing at all."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from linq.chain import ChainClient, ChainError
from linq.chain import escrows as ops
from linq.chain.errors import FundingError
from linq.contracts.terms import Resources, Terms
from linq.devnet import Devnet
from linq.devnet.accounts import deployer, fresh_wallet, register_provider
from linq.protocol.money import deposit_for
from linq.tools import locate
from tests.faultsite import linq_fault_hooks
from tests.faultsite.linq_fault_hooks import ENV_RUN_AT

pytestmark = pytest.mark.integration
RES = Resources(1000, 1024, 10)


@pytest.fixture(scope="module")
def bank(devnet: Devnet) -> ChainClient:
    return deployer(devnet.state_dir)


@pytest.fixture(scope="module")
def provider(bank: ChainClient) -> tuple[str, ChainClient]:
    key, signer = fresh_wallet(bank, lnq=0)
    client = ChainClient(bank.profile, signer)
    register_provider(client, cpu=64_000)
    return key, client


@pytest.fixture
def run_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """Steps -> argv run at that checkpoint in this process (once each)."""
    steps: dict[str, list[str]] = {}
    linq_fault_hooks._ran.clear()

    class _Env(dict):  # type: ignore[type-arg]
        def __setitem__(self, key: str, value: list[str]) -> None:
            super().__setitem__(key, value)
            monkeypatch.setenv(ENV_RUN_AT, json.dumps(dict(self)))

    steps = _Env()
    yield steps
    linq_fault_hooks._ran.clear()


def _cast(bank: ChainClient, key: str, to: str, *call: str) -> list[str]:
    return [str(locate.foundry("cast")), "send", "--rpc-url", bank.profile.rpc_url, "--private-key", key, to, *call]


def _deposit(bank: ChainClient, provider: str, seconds: int = 3600) -> int:
    return deposit_for(int(bank.registry.functions.quote(provider, RES.as_tuple()).call()), seconds)


def _plan(provider: str, deposit: int, salt: str) -> ops.CreatePlan:
    return ops.CreatePlan(provider, RES, deposit, ops.salt_for(salt), 10**30)


# (checkpoint, what happens there, does the create still land)
CREATE_FAULTS = [
    ("escrow:after-approve", "deactivate", False),  # the create's estimate now reverts
    ("create:before-send", "deactivate", False),  # signed against an active provider, mined as a revert
    ("escrow:after-approve", "crash", False),  # any exception (an interrupt, a bug) after the approve
    ("create:before-send", "crash", False),
    ("create:after-send", "crash", True),  # sent: it lands; the reset is mined after it (same sender)
]


@pytest.mark.parametrize("step,fault,lands", CREATE_FAULTS, ids=[f"{s}-{f}" for s, f, _ in CREATE_FAULTS])
@pytest.mark.parametrize("own_allowance", [0, 123], ids=["no-allowance", "own-allowance"])
def test_create_failure_leaves_the_allowance_as_it_was(
    bank: ChainClient,
    provider: tuple[str, ChainClient],
    run_at: dict[str, list[str]],
    step: str,
    fault: str,
    lands: bool,
    own_allowance: int,
) -> None:
    pkey, pclient = provider
    _key, signer = fresh_wallet(bank, lnq=10**20)
    payer = ChainClient(bank.profile, signer)
    if own_allowance:
        payer.send(payer.lnq.functions.approve(payer.escrow.address, own_allowance), what="the payer's own approve")
    deposit = _deposit(bank, pclient.address)
    if fault == "deactivate":
        run_at[step] = _cast(bank, pkey, bank.registry.address, "deactivate()")
    else:
        run_at[step] = ["false"]
    try:
        with pytest.raises(Exception) as err:
            ops.create(payer, _plan(pclient.address, deposit, f"{step}-{fault}-{own_allowance}"))
        assert payer.allowance(payer.address) == own_allowance, (step, fault, str(err.value))
        created = ops.created_by(payer, payer.address)
        assert len(created) == (1 if lands else 0)
        assert payer.lnq_balance(payer.address) == 10**20 - (deposit if lands else 0)
        if fault == "deactivate":
            assert "deactivated" in str(err.value)
    finally:
        if fault == "deactivate":
            pclient.send(pclient.registry.functions.reactivate(), what="reactivate")


TOP_UP_FAULTS = [
    ("escrow:after-approve-top-up", "stop"),  # the requestor stops it elsewhere: the topUp estimate reverts
    ("topUp:before-send", "stop"),  # mined as a revert
    ("escrow:after-approve-top-up", "crash"),
    ("topUp:before-send", "crash"),
]


@pytest.mark.parametrize("step,fault", TOP_UP_FAULTS, ids=[f"{s}-{f}" for s, f in TOP_UP_FAULTS])
def test_top_up_failure_leaves_no_allowance(
    bank: ChainClient, provider: tuple[str, ChainClient], run_at: dict[str, list[str]], step: str, fault: str
) -> None:
    _pkey, pclient = provider
    key, signer = fresh_wallet(bank, lnq=10**20)
    payer = ChainClient(bank.profile, signer)
    deposit = _deposit(bank, pclient.address)
    terms, _ = ops.create(payer, _plan(pclient.address, deposit, f"top-{step}-{fault}"))
    assert payer.allowance(payer.address) == 0  # the create pulled exactly what it approved
    if fault == "stop":
        run_at[step] = _cast(
            bank,
            key,
            bank.escrow.address,
            "cancel((address,address,(uint32,uint32,uint32,uint16,uint16),uint128,bytes32))",
            _terms_arg(terms),
        )
    else:
        run_at[step] = ["false"]
    balance = payer.lnq_balance(payer.address)
    with pytest.raises(Exception):  # noqa: B017
        ops.top_up(payer, terms, deposit)
    assert payer.allowance(payer.address) == 0, (step, fault)
    after = payer.lnq_balance(payer.address)
    assert after == balance + (deposit if fault == "stop" else 0)  # a cancel refunds; no top-up moved


def _terms_arg(terms: Terms) -> str:
    r = terms.resources
    return (
        f"({terms.requestor},{terms.provider},({r.cpu_millis},{r.memory_mib},{r.storage_gib},{r.gpu_class},"
        f"{r.gpu_count}),{terms.rate_per_hour},0x{terms.salt.hex()})"
    )


def test_refusals_known_in_advance_send_nothing(bank: ChainClient, provider: tuple[str, ChainClient]) -> None:
    _pkey, pclient = provider
    _key, signer = fresh_wallet(bank, lnq=10**15)
    payer = ChainClient(bank.profile, signer)
    deposit = _deposit(bank, pclient.address)
    assert deposit > 10**15
    nonce = payer.nonce(payer.address)
    # more than the balance: refused with both amounts, in LNQ and wei
    with pytest.raises(FundingError) as err:
        ops.create(payer, _plan(pclient.address, deposit, "poor"))
    assert f"holds 0.001 LNQ ({10**15} wei)" in str(err.value) and f"({deposit} wei)" in str(err.value)
    # the provider has no room: the dry run refuses before any approve
    big = ops.CreatePlan(pclient.address, Resources(10**6, 1024, 10), 10**14, ops.salt_for("big"), 10**30)
    with pytest.raises(ChainError) as err2:
        ops.create(payer, big)
    assert "millicores CPU free" in str(err2.value)
    # a top-up of an escrow that is not open (never created): refused by the dry run
    ghost = Terms(payer.address, pclient.address, RES, 10**15, ops.salt_for("ghost"))
    with pytest.raises(ChainError):
        ops.top_up(payer, ghost, 10**14)
    assert payer.nonce(payer.address) == nonce  # nothing was sent
    assert payer.allowance(payer.address) == 0 and payer.lnq_balance(payer.address) == 10**15
