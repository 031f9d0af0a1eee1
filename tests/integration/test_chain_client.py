"""The one transaction path against the real devnet chain: nonces under concurrency and outside sends,
decoded reverts (estimated and mined), allowance and balance errors, RPC down, flaky RPC, receipt timeout."""

from __future__ import annotations

import http.server
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from linq.chain import ChainClient, RpcUnavailable, TxReverted, TxTimeout
from linq.chain import escrows as ops
from linq.chain.errors import FundingError
from linq.chain.network import connect
from linq.chain.rpc import RetryingHTTPProvider
from linq.contracts.terms import Resources
from linq.devnet import Devnet
from linq.devnet.accounts import deployer, fresh_wallet, register_provider

pytestmark = pytest.mark.integration
RES = Resources(1000, 1024, 10)


@pytest.fixture(scope="module")
def bank(devnet: Devnet) -> ChainClient:
    return deployer(devnet.state_dir)


@pytest.fixture(scope="module")
def provider(bank: ChainClient) -> ChainClient:
    _key, signer = fresh_wallet(bank, lnq=0)
    client = ChainClient(bank.profile, signer)
    register_provider(client, cpu=4000)
    return client


@pytest.fixture
def wallet(bank: ChainClient) -> ChainClient:
    _key, signer = fresh_wallet(bank, lnq=100 * 10**18)
    return ChainClient(bank.profile, signer)


def test_concurrent_sends_from_one_signer_all_land(wallet: ChainClient, provider: ChainClient) -> None:
    start_nonce = wallet.nonce(wallet.address)
    results: list[object] = []
    errors: list[BaseException] = []

    def send(i: int) -> None:
        try:
            results.append(wallet.send(wallet.lnq.functions.transfer(provider.address, i + 1), what="transfer"))
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert wallet.nonce(wallet.address) == start_nonce + 8
    assert len({r.tx_hash for r in results}) == 8  # type: ignore[attr-defined]


def test_outside_send_does_not_break_the_local_nonce(wallet: ChainClient, provider: ChainClient) -> None:
    wallet.send(wallet.lnq.functions.transfer(provider.address, 1), what="first")
    # Another process uses the same key: a second client (its own transactor) sends in between.
    other = ChainClient(wallet.profile, wallet.signer, w3=connect(wallet.profile))
    other.send(other.lnq.functions.transfer(provider.address, 1), what="outside")
    before = wallet.nonce(wallet.address)
    wallet.send(wallet.lnq.functions.transfer(provider.address, 1), what="after")
    assert wallet.nonce(wallet.address) == before + 1


def test_estimated_revert_is_decoded_and_nothing_is_sent(wallet: ChainClient, provider: ChainClient) -> None:
    before = wallet.nonce(wallet.address)
    plan = ops.CreatePlan(provider.address, Resources(9000, 1024, 10), 10**18, ops.salt_for("cap"), 10**30)
    with pytest.raises(TxReverted) as err:
        ops.create(wallet, plan)
    assert err.value.error_name == "InsufficientCapacity"
    assert f"provider {provider.address} has 4000 millicores CPU free, you asked for 9000" in str(err.value)
    assert wallet.nonce(wallet.address) == before  # refused by the dry run before any approve: nothing sent


def test_mined_revert_carries_hash_and_reason(wallet: ChainClient, provider: ChainClient) -> None:
    call = wallet.escrow.functions.create(provider.address, RES.as_tuple(), 10**18, 1, ops.salt_for("mined"))
    with pytest.raises(TxReverted) as err:
        wallet.send(call, what="create with a forced gas limit", gas=400_000, context={"provider": provider.address})
    assert err.value.tx_hash.startswith("0x")
    assert err.value.error_name == "RateAboveMax"
    receipt = wallet.w3.eth.get_transaction_receipt(err.value.tx_hash)  # type: ignore[arg-type]
    assert receipt["status"] == 0


def test_allowance_and_balance_errors_say_what_to_do(wallet: ChainClient, provider: ChainClient) -> None:
    rate = int(wallet.registry.functions.quote(provider.address, RES.as_tuple()).call())
    deposit = rate  # one hour
    call = wallet.escrow.functions.create(provider.address, RES.as_tuple(), deposit, rate, ops.salt_for("allow"))
    with pytest.raises(TxReverted) as err:
        wallet.send(call, what="create without approve")
    assert err.value.error_name == "ERC20InsufficientAllowance"
    assert f"approve the escrow for at least {deposit} wei" in str(err.value)
    poor = ChainClient(wallet.profile, fresh_wallet(deployer(wallet.profile.devnet_dir), lnq=5)[1])  # type: ignore[arg-type]
    with pytest.raises(FundingError) as funding:  # refused before the approve, with both amounts
        ops.create(poor, ops.CreatePlan(provider.address, RES, deposit, ops.salt_for("poor"), rate))
    assert f"at least {deposit - 5} more wei" in str(funding.value)
    assert poor.nonce(poor.address) == 0 and poor.allowance(poor.address) == 0


def test_rpc_down_fails_fast_with_the_url_and_the_fix() -> None:
    provider = RetryingHTTPProvider("http://127.0.0.1:9", retries=2, backoff=0.05)
    from web3 import Web3

    started = time.monotonic()
    with pytest.raises(RpcUnavailable) as err:
        Web3(provider).eth.chain_id  # noqa: B018
    assert provider.attempts == 3
    assert time.monotonic() - started < 60  # bounded retries, no hang (the backoff itself sums to 0.15 s)
    assert "http://127.0.0.1:9" in str(err.value) and "connection refused" in str(err.value)
    assert "start the node or fix the URL" in str(err.value)


class _Flaky(http.server.BaseHTTPRequestHandler):
    target = ""
    failures = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).failures > 0:
            type(self).failures -= 1
            self.send_response(503)
            self.end_headers()
            return
        req = urllib.request.Request(self.target, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
        with urllib.request.urlopen(req, timeout=10) as answer:  # noqa: S310 - loopback devnet
            data = answer.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky_rpc(bank: ChainClient) -> Iterator[type[_Flaky]]:
    _Flaky.target = bank.profile.rpc_url
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Flaky.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield _Flaky
    finally:
        server.shutdown()
        server.server_close()


def test_transient_503s_are_retried_and_the_send_lands(wallet: ChainClient, flaky_rpc: type[_Flaky]) -> None:
    from dataclasses import replace

    from web3 import Web3

    profile = replace(wallet.profile, rpc_url=flaky_rpc.url)  # type: ignore[attr-defined]
    rpc = RetryingHTTPProvider(profile.rpc_url, retries=4, backoff=0.05)
    client = ChainClient(profile, wallet.signer, w3=Web3(rpc))
    flaky_rpc.failures = 3
    result = client.send(client.lnq.functions.transfer(wallet.address, 1), what="through a flaky proxy")
    assert result.receipt["status"] == 1
    assert flaky_rpc.failures == 0 and rpc.attempts >= 4


def test_receipt_timeout_when_nothing_mines(wallet: ChainClient) -> None:
    client = ChainClient(wallet.profile, wallet.signer, receipt_timeout=1.0)
    client.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        with pytest.raises(TxTimeout) as err:
            client.send(client.lnq.functions.transfer(wallet.address, 1), what="a transfer nobody mines")
        assert "was sent but not mined within 1 s" in str(err.value) and "idempotent" in str(err.value)
    finally:
        client.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        client.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    client.transactor.wait_for_pending(timeout=10)  # the timed-out transaction lands once blocks come
    assert client.nonce(client.address) == int(client.w3.eth.get_transaction_count(client.address, "latest"))
