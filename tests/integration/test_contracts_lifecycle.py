"""Full escrow lifecycles driven from Python on two real EVMs: in-process py-evm and an anvil node.

Every amount is checked to the wei against the exact-integer model in linq.contracts.terms.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.logs import DISCARD

from linq.chain.decode import decode_revert, revert_data
from linq.chain.deploy import deploy_all, send_tx
from linq.contracts import AddressBook, contract
from linq.contracts.terms import Resources, Terms, encode_region, permit_signature
from linq.devnet.localchain import anvil_chain, fund_eth, increase_time
from linq.market.offers import Offer
from linq.protocol.money import earned, end_time

pytestmark = pytest.mark.integration

ZERO = "0x0000000000000000000000000000000000000000"
MAX_UINT = 2**256 - 1
PRICES = (10**13, 5 * 10**12, 10**13)  # wei per milli-hour, MiB-hour, GiB-hour
RES = Resources(cpu_millis=500, memory_mib=1024, storage_gib=20)
STATUS = {0: "None", 1: "Created", 2: "Active", 3: "Ended", 4: "Cancelled", 5: "Stopped", 6: "Completed"}


@dataclass
class Chain:
    w3: Web3
    accounts: list[LocalAccount]
    travel: Callable[[int], int]  # seconds forward -> new block timestamp


@pytest.fixture(params=["py-evm", "anvil"])
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    if request.param == "py-evm":
        tester = EthereumTester(PyEVMBackend())
        w3 = Web3(EthereumTesterProvider(tester))
        keys = tester.backend.account_keys[:5]
        accounts = [Account.from_key(k.to_bytes()) for k in keys]

        def travel(seconds: int) -> int:
            now = int(w3.eth.get_block("latest")["timestamp"])
            tester.time_travel(now + seconds)
            tester.mine_blocks()
            return int(w3.eth.get_block("latest")["timestamp"])

        yield Chain(w3, accounts, travel)
    else:
        with anvil_chain() as w3:
            accounts = [Account.create() for _ in range(5)]
            for acct in accounts:
                fund_eth(w3, acct.address)
            yield Chain(w3, accounts, lambda s: increase_time(w3, s))


@dataclass
class Deployed:
    book: AddressBook
    lnq: Contract
    registry: Contract
    escrow: Contract
    deployer: LocalAccount
    provider: LocalAccount
    provider2: LocalAccount
    requestor: LocalAccount
    anyone: LocalAccount


@pytest.fixture
def deployed(chain: Chain) -> Deployed:
    deployer, provider, provider2, requestor, anyone = chain.accounts
    fund = {requestor.address: 10**24, anyone.address: 10**24}
    book = deploy_all(chain.w3, deployer, lnq_supply=10**27, fund=fund, min_prepaid_seconds=600)
    d = Deployed(
        book,
        contract(chain.w3, "LNQ", book.lnq),
        contract(chain.w3, "ProviderRegistry", book.registry),
        contract(chain.w3, "Escrow", book.escrow),
        deployer,
        provider,
        provider2,
        requestor,
        anyone,
    )
    for p in (provider, provider2):
        region = encode_region("eu-west")
        send_tx(chain.w3, p, d.registry.functions.register((64_000, 262_144, 4_000), PRICES, region, b"\x22" * 32))
    for payer in (requestor, anyone):
        send_tx(chain.w3, payer, d.lnq.functions.approve(book.escrow, MAX_UINT))
    return d


def _now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def _balance(d: Deployed, who: Any) -> int:
    address = who if isinstance(who, str) else who.address
    return int(d.lnq.functions.balanceOf(address).call())


def _create(chain: Chain, d: Deployed, deposit: int, salt: bytes) -> Terms:
    rate = int(d.registry.functions.quote(d.provider.address, RES.as_tuple()).call())
    receipt = send_tx(
        chain.w3,
        d.requestor,
        d.escrow.functions.create(d.provider.address, RES.as_tuple(), deposit, rate, salt),
    )
    event = d.escrow.events.EscrowCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]
    terms = Terms.from_event(event["terms"])
    assert terms == Terms(d.requestor.address, d.provider.address, RES, rate, salt)
    assert event["id"] == terms.escrow_id == d.escrow.functions.escrowId(terms.as_tuple()).call()
    return terms


def test_deploy_all_binds_and_funds(chain: Chain, deployed: Deployed) -> None:
    d = deployed
    assert d.book.chain_id == chain.w3.eth.chain_id
    assert d.registry.functions.escrow().call() == d.book.escrow
    assert d.escrow.functions.registry().call() == d.book.registry
    assert d.escrow.functions.token().call() == d.book.lnq
    assert d.escrow.functions.minPrepaidSeconds().call() == 600
    assert _balance(d, d.requestor) == 10**24
    assert _balance(d, d.deployer) == 10**27 - 2 * 10**24
    assert d.lnq.functions.symbol().call() == "LNQ"
    assert d.book.deployed_block <= chain.w3.eth.block_number


def test_lifecycle_start_withdraw_topup_finalize(chain: Chain, deployed: Deployed) -> None:
    d, w3 = deployed, chain.w3
    rate = int(d.registry.functions.quote(d.provider.address, RES.as_tuple()).call())
    assert rate == 500 * PRICES[0] + 1024 * PRICES[1] + 20 * PRICES[2]
    deposit = rate * 2  # two hours
    terms = _create(chain, d, deposit, b"\x01" * 32)
    used = d.registry.functions.usedCapacity(d.provider.address).call()
    assert tuple(used) == (500, 1024, 20)
    assert STATUS[d.escrow.functions.statusOf(terms.as_tuple()).call()] == "Created"

    receipt = send_tx(w3, d.provider, d.escrow.functions.start(terms.as_tuple()))
    start = int(w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    assert d.escrow.functions.endOf(terms.as_tuple()).call() == end_time(deposit, rate, start)

    now = chain.travel(1800)
    view = d.escrow.functions.getEscrow(terms.as_tuple()).call()
    assert view[3] == earned(deposit, rate, start, now)  # earned
    send_tx(w3, d.anyone, d.escrow.functions.withdraw(terms.as_tuple()))  # anyone triggers, provider is paid
    paid = _balance(d, d.provider)
    assert paid == earned(deposit, rate, start, _now(w3))

    send_tx(w3, d.anyone, d.escrow.functions.topUp(terms.as_tuple(), rate))  # a third party extends the runway
    deposit += rate
    assert d.escrow.functions.endOf(terms.as_tuple()).call() == end_time(deposit, rate, start)

    chain.travel(3 * 3600)
    assert STATUS[d.escrow.functions.statusOf(terms.as_tuple()).call()] == "Ended"
    requestor_before = _balance(d, d.requestor)
    send_tx(w3, d.anyone, d.escrow.functions.finalize(terms.as_tuple()))
    assert _balance(d, d.provider) == deposit  # the provider earned every wei of a run-out escrow
    assert _balance(d, d.requestor) == requestor_before
    assert _balance(d, d.book.escrow) == 0
    assert STATUS[d.escrow.functions.statusOf(terms.as_tuple()).call()] == "Completed"
    assert tuple(d.registry.functions.usedCapacity(d.provider.address).call()) == (0, 0, 0)
    reputation = d.registry.functions.getProvider(d.provider.address).call()[8]
    assert reputation[0] == 1 and reputation[3] == deposit  # completed, totalEarned


def test_stop_settles_and_cancel_refunds(chain: Chain, deployed: Deployed) -> None:
    d, w3 = deployed, chain.w3
    rate = int(d.registry.functions.quote(d.provider.address, RES.as_tuple()).call())
    deposit = rate * 5 + 12_345  # an odd amount: rounding must still settle to the wei
    terms = _create(chain, d, deposit, b"\x02" * 32)
    receipt = send_tx(w3, d.provider, d.escrow.functions.start(terms.as_tuple()))
    start = int(w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    chain.travel(4321)
    before = _balance(d, d.requestor)
    with pytest.raises(Exception):  # noqa: B017 - only the requestor may stop
        send_tx(w3, d.anyone, d.escrow.functions.stop(terms.as_tuple()), gas=300_000)
    receipt = send_tx(w3, d.requestor, d.escrow.functions.stop(terms.as_tuple()))
    stopped_at = int(w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    provider_total = earned(deposit, rate, start, stopped_at)
    refund = _balance(d, d.requestor) - before
    assert _balance(d, d.provider) == provider_total
    assert provider_total + refund == deposit
    args = d.escrow.events.Stopped().process_receipt(receipt, errors=DISCARD)[0]["args"]
    assert (args["toProvider"], args["refund"]) == (provider_total, refund)

    second = _create(chain, d, deposit, b"\x03" * 32)
    before = _balance(d, d.requestor)
    send_tx(w3, d.requestor, d.escrow.functions.cancel(second.as_tuple()))
    assert _balance(d, d.requestor) - before == deposit
    assert _balance(d, d.book.escrow) == 0
    record = d.escrow.functions.record(second.escrow_id).call()
    assert (record[0], record[1], STATUS[record[3]]) == (deposit, 0, "Cancelled")


def test_offer_and_permit_paths(chain: Chain, deployed: Deployed) -> None:
    d, w3 = deployed, chain.w3
    offer = Offer(
        provider=d.provider2.address,
        requestor=d.requestor.address,
        resources=RES,
        rate_per_hour=36 * 10**15,
        min_duration=600,
        max_duration=7 * 86400,
        nonce=42,
        deadline=_now(w3) + 3600,
    )
    signature = offer.sign(d.provider2.key, d.book.chain_id, d.book.escrow)
    typed = offer.typed_data(d.book.chain_id, d.book.escrow)
    digest = Account.sign_typed_data(d.provider2.key, full_message=typed).message_hash
    assert d.escrow.functions.offerDigest(offer.as_tuple()).call() == bytes(digest)
    # permit instead of approve: a fresh requestor with LNQ but no allowance
    fresh = Account.create()
    if chain.w3.eth.get_balance(fresh.address) == 0:
        send_tx(w3, d.deployer, _eth_transfer(w3, fresh.address), value=10**18)
    send_tx(w3, d.deployer, d.lnq.functions.transfer(fresh.address, 10**21))
    bound = Offer(**{**offer.__dict__, "requestor": fresh.address})
    sig = bound.sign(d.provider2.key, d.book.chain_id, d.book.escrow)
    deposit = 36 * 10**15  # one hour at the offer's rate
    permit = permit_signature(
        fresh.key,
        chain_id=d.book.chain_id,
        token=d.book.lnq,
        owner=fresh.address,
        spender=d.book.escrow,
        value=deposit,
        nonce=0,
        deadline=_now(w3) + 3600,
    )
    salt = b"\x04" * 32
    send_tx(w3, fresh, d.escrow.functions.createFromOfferWithPermit(bound.as_tuple(), sig, deposit, salt, permit))
    terms = Terms(fresh.address, d.provider2.address, RES, offer.rate_per_hour, salt)
    assert d.escrow.functions.record(terms.escrow_id).call()[0] == deposit
    assert d.escrow.functions.isNonceUsed(d.provider2.address, 42).call()
    # the requestor-bound original offer shares nonce 42, so it is now spent too
    with pytest.raises(Exception):  # noqa: B017
        send_tx(
            w3, d.requestor, d.escrow.functions.createFromOffer(offer.as_tuple(), signature, deposit, salt), gas=400_000
        )


def _eth_transfer(w3: Web3, to: str) -> Any:
    """A plain ether transfer as a send_tx-compatible call object."""

    class _Transfer:
        def build_transaction(self, tx: dict[str, Any]) -> dict[str, Any]:
            return {**tx, "to": to, "gas": 21_000, "gasPrice": w3.eth.gas_price}

        def transact(self, tx: dict[str, Any]) -> Any:
            return w3.eth.send_transaction({**tx, "to": to})

    return _Transfer()


def _revert_name(call: Any, sender: LocalAccount) -> str:
    """The custom error `call` reverts with when `sender` makes it (read via eth_call on either chain)."""
    try:
        call.call({"from": sender.address})
    except Exception as err:  # web3 and eth-tester raise different types; the revert data decides
        data = revert_data(getattr(err, "data", None))
        message = str(err.args[0]) if err.args else ""
        if data is None and message.startswith("execution reverted: b"):  # eth-tester: the bytes' repr
            data = ast.literal_eval(message.removeprefix("execution reverted: "))
        return decode_revert(data).name
    raise AssertionError("the call did not revert")


def test_issue19_rules_start_window_decline_no_reuse_batch(chain: Chain, deployed: Deployed) -> None:
    """Stale unstarted escrows are cancellable by anyone after the start window, the provider may decline, a
    moved escrow's id is never reused, and a provider's batch still pays with a moved id in it."""
    d, w3 = deployed, chain.w3
    deposit = 10**18
    stale = _create(chain, d, deposit, b"\x11" * 32)
    deadline = int(d.escrow.functions.startDeadline(stale.as_tuple()).call())
    assert deadline == _now(w3) + int(d.escrow.functions.START_WINDOW().call())
    assert _revert_name(d.escrow.functions.cancel(stale.as_tuple()), d.anyone) == "StartWindowOpen"
    chain.travel(deadline - _now(w3) + 1)
    before = _balance(d, d.requestor)
    send_tx(w3, d.anyone, d.escrow.functions.cancel(stale.as_tuple()))
    assert _balance(d, d.requestor) - before == deposit  # refunded to the requestor, not the caller

    declined = _create(chain, d, deposit, b"\x12" * 32)
    send_tx(w3, d.provider, d.escrow.functions.decline(declined.as_tuple()))
    rep = d.registry.functions.getProvider(d.provider.address).call()[8]
    assert rep[2] == 1  # only the provider's own decline counts as cancelled

    running = _create(chain, d, deposit, b"\x13" * 32)
    send_tx(w3, d.provider, d.escrow.functions.start(running.as_tuple()))
    moved = _create(chain, d, deposit, b"\x14" * 32)
    send_tx(w3, d.requestor, d.escrow.functions.changeProvider(moved.as_tuple(), d.provider2.address, MAX_UINT >> 128))
    again = d.escrow.functions.create(d.provider.address, RES.as_tuple(), deposit, moved.rate_per_hour, moved.salt)
    assert _revert_name(again, d.requestor) == "EscrowExists"
    chain.travel(3600)
    before = _balance(d, d.provider)
    receipt = send_tx(w3, d.provider, d.escrow.functions.withdrawMany([running.as_tuple(), moved.as_tuple()]))
    paid = d.escrow.events.Withdrawn().process_receipt(receipt, errors=DISCARD)
    assert [e["args"]["id"] for e in paid] == [running.escrow_id]  # the moved id is skipped, not a revert
    withdrawn = int(d.escrow.functions.getEscrow(running.as_tuple()).call()[4])
    assert _balance(d, d.provider) - before == withdrawn == paid[0]["args"]["amount"] > 0
