"""The Escrow provider's methods called as plain objects against the devnet: create from a signed offer,
adopt on a repeated create (the crash-recovery path), and delete (cancel, full refund)."""

from __future__ import annotations

import json

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from components.dynamic import UNKNOWN
from components.escrow import EscrowProvider
from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.devnet import Devnet
from linq.devnet.accounts import deployer, fresh_wallet, register_provider
from linq.market.models import Resources
from linq.market.offers import Domain, Offer, sign_offer
from linq.protocol.money import deposit_for

pytestmark = pytest.mark.integration


def test_offer_create_adopt_delete(devnet: Devnet) -> None:
    bank = deployer(devnet.state_dir)
    pkey, psigner = fresh_wallet(bank, lnq=0)
    register_provider(ChainClient(bank.profile, psigner))
    key, signer = fresh_wallet(bank, lnq=10**18)
    requestor = ChainClient(bank.profile, signer)
    offer = Offer(
        provider=psigner.address,
        resources=Resources(cpu_millis=2000, memory_mib=2048, storage_gib=20),
        rate_per_hour=10**15,
        min_duration=600,
        max_duration=86400,
        nonce=4242,
        deadline=bank.now() + 3600,
    )
    signed = sign_offer(offer, Domain(chain_id=bank.chain_id, verifying_contract=bank.escrow.address), pkey)

    provider = EscrowProvider()
    network = json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)})
    provider.configure(ConfigureRequest(Config({"linq:network": network, "linq:signerKey": key}, "t")))
    checked = provider.check({}, {"offer": signed.to_json(), "duration": "1h", "salt_seed": "offer/test/e"})
    assert checked.failures == []
    assert checked.inputs["provider"] == psigner.address and checked.inputs["resources"]["cpu_millis"] == 2000

    before = requestor.lnq_balance(signer.address)
    created = provider.create(dict(checked.inputs))
    outs = created.outs
    assert outs["status"] == "Created" and outs["rate_per_hour"] == str(10**15)
    assert outs["deposited"] == str(deposit_for(10**15, 3600))
    assert requestor.lnq_balance(signer.address) == before - deposit_for(10**15, 3600)
    assert bank.escrow.functions.isNonceUsed(psigner.address, 4242).call()

    again = provider.create(dict(checked.inputs))  # as after a crash before the state was written
    assert again.id == created.id and "adopted" in again.outs["tx_hashes"]
    assert requestor.lnq_balance(signer.address) == before - deposit_for(10**15, 3600)

    # A preview with a value another resource has not produced yet: no failure, no chain call.
    assert (
        provider.check(
            {}, {"provider": UNKNOWN, "resources": {"cpu": 1}, "duration": "1h", "salt_seed": "offer/test/u"}
        ).failures
        == []
    )

    provider.delete(created.id, outs)
    assert requestor.lnq_balance(signer.address) == before
    terms = ops.find_by_salt(requestor, signer.address, bytes.fromhex(created.id[2:]))
    assert terms is not None and ops.read_state(requestor, terms).status == "Cancelled"
    provider.delete(created.id, outs)  # already settled: success, nothing sent
