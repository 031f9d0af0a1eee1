"""Bad inputs are rejected at check/preview — against the real registry and escrow — with the field, the
value and the fix named, and no transaction sent (the signer's nonce does not move). The pure cases (units,
amounts, addresses, policies …) are in tests/unit/test_escrow_spec.py."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto
from pulumi.dynamic import Config, ConfigureRequest

from components.escrow import EscrowProvider
from linq.chain import ChainClient
from linq.chain import registration as reg
from linq.devnet import Devnet
from linq.devnet.accounts import deployer, fresh_wallet, register_provider
from linq.engine import inline_stack
from linq.market.models import Resources as MarketResources
from linq.market.offers import Domain, Offer, sign_offer

pytestmark = pytest.mark.integration
RES = {"cpu": "1", "memory": "1Gi", "storage": "10Gi"}
BY_OFFER: dict[str, Any] = {"provider": None, "resources": None}  # the offer names both


class World:
    def __init__(self, devnet: Devnet) -> None:
        self.devnet = devnet
        self.bank = deployer(devnet.state_dir)
        self.pkey, psigner = fresh_wallet(self.bank, lnq=0)
        self.provider = ChainClient(self.bank.profile, psigner)
        register_provider(self.provider, cpu=4000, memory=8192, gpus=(reg.GpuClassSpec(1, "nvidia-a100", 1, 10**15),))
        _qkey, qsigner = fresh_wallet(self.bank, lnq=0)
        self.inactive = ChainClient(self.bank.profile, qsigner)
        register_provider(self.inactive)
        reg.deactivate(self.inactive)
        self.key, signer = fresh_wallet(self.bank, lnq=10**20)
        self.requestor = ChainClient(self.bank.profile, signer)
        self.network = json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)})

    def checker(self, **config: str) -> EscrowProvider:
        provider = EscrowProvider()
        raw = {"linq:network": self.network, "linq:signerKey": self.key, **config}
        provider.configure(ConfigureRequest(Config({k: v for k, v in raw.items() if v}, "t")))
        return provider

    def offer(
        self,
        *,
        deadline_in: int = 3600,
        chain_id: int | None = None,
        contract: str | None = None,
        requestor: str = "0x0000000000000000000000000000000000000000",
        nonce: int | None = None,
        min_duration: int = 600,
        max_duration: int = 86400,
    ) -> str:
        now = self.bank.now()
        offer = Offer(
            provider=self.provider.address,
            requestor=requestor,
            resources=MarketResources(cpu_millis=1000, memory_mib=1024, storage_gib=10),
            rate_per_hour=10**15,
            min_duration=min_duration,
            max_duration=max_duration,
            nonce=nonce if nonce is not None else uuid.uuid4().int >> 64,
            deadline=now + deadline_in,
        )
        domain = Domain(
            chain_id=chain_id or self.bank.chain_id, verifying_contract=contract or self.bank.escrow.address
        )
        return sign_offer(offer, domain, self.pkey).to_json()


@pytest.fixture(scope="module")
def world(devnet: Devnet) -> World:
    return World(devnet)


def _cases(w: World) -> list[tuple[str, dict[str, Any], str, str]]:
    tampered = json.loads(w.offer())
    tampered["offer"]["ratePerHour"] = "1"
    tampered.pop("digest")
    w.provider.send(w.provider.escrow.functions.revokeOffer(777), what="revoke offer nonce 777")
    return [
        ("unknown provider", {"provider": "0x" + "ab" * 20}, "provider", "is not registered"),
        ("inactive provider", {"provider": w.inactive.address}, "provider", "deactivated"),
        (
            "too much CPU",
            {"resources": {"cpu": "5"}},
            "resources.cpu_millis",
            "4000 millicores CPU free, you asked for 5000",
        ),
        (
            "too much memory",
            {"resources": {"cpu": 1, "memory": "16Gi"}},
            "resources.memory_mib",
            "8192 MiB memory free",
        ),
        (
            "unknown GPU class",
            {"resources": {"cpu": 1, "gpu_class": 7, "gpu_count": 1}},
            "resources.gpu_class",
            "no GPU class 7",
        ),
        (
            "too many GPUs",
            {"resources": {"cpu": 1, "gpu_class": 1, "gpu_count": 2}},
            "resources.gpu_count",
            "1 GPUs of class 1 free",
        ),
        ("price above ceiling", {"max_rate_per_hour": "1 wei"}, "max_rate_per_hour", "above max_rate_per_hour 1 wei"),
        ("too short", {"duration": "5m"}, "duration", "below the escrow's minimum prepaid"),
        (
            "deposit too small",
            {"duration": None, "deposit": "1000 wei"},
            "deposit",
            "below the escrow's minimum prepaid",
        ),
        ("expired offer", {**BY_OFFER, "offer": w.offer(deadline_in=-60)}, "offer", "deadline"),
        ("offer of another chain", {**BY_OFFER, "offer": w.offer(chain_id=1)}, "offer", "chainId is 1"),
        (
            "offer of another escrow",
            {**BY_OFFER, "offer": w.offer(contract=w.bank.registry.address)},
            "offer",
            "verifyingContract",
        ),
        ("tampered offer", {**BY_OFFER, "offer": tampered}, "offer", "signature was made by"),
        ("revoked offer nonce", {**BY_OFFER, "offer": w.offer(nonce=777)}, "offer", "nonce 777"),
        (
            "offer for someone else",
            {**BY_OFFER, "offer": w.offer(requestor=w.provider.address)},
            "offer",
            "offer.requestor is",
        ),
        ("outside offer window", {**BY_OFFER, "offer": w.offer(min_duration=7200)}, "duration", "outside the offer's"),
        ("wrong chain id", {"chain_id": 1}, "chain_id", "chain_id 1 is not this network's chain 31337"),
        (
            "offer vs provider",
            {"provider": w.inactive.address, "resources": None, "offer": w.offer()},
            "provider",
            "differs from offer.provider",
        ),
    ]


def test_bad_inputs_fail_check_with_field_value_and_fix(world: World) -> None:
    checker = world.checker()
    nonce = world.requestor.nonce(world.requestor.address)
    base = {"provider": world.provider.address, "resources": RES, "duration": "1h", "salt_seed": "preview/x"}
    cases = _cases(world)
    assert len(cases) >= 18
    for label, change, field, text in cases:
        result = checker.check({}, {**base, **change})
        reasons = [f.reason for f in result.failures if f.property == field]
        assert reasons, (label, [(f.property, f.reason) for f in result.failures])
        assert any(text in r for r in reasons), (label, reasons)
    # And the same inputs, valid, pass — so every failure above came from the one thing changed.
    assert checker.check({}, base).failures == []
    assert world.requestor.nonce(world.requestor.address) == nonce  # check never sends


def test_missing_signer_and_dead_network_are_check_failures(world: World) -> None:
    base = {"provider": world.provider.address, "resources": RES, "duration": "1h", "salt_seed": "preview/y"}
    no_key = EscrowProvider()
    no_key.configure(ConfigureRequest(Config({"linq:network": world.network}, "t")))
    failures = no_key.check({}, base).failures
    assert [f.property for f in failures] == ["signer"] and "linq:signerKey" in failures[0].reason
    dead = world.checker(
        **{
            "linq:network": json.dumps(
                {"kind": "rpc", "rpcUrl": "http://127.0.0.1:9", "addresses": str(world.devnet.addresses_file)}
            )
        }
    )
    import os

    os.environ["LINQ_RPC_RETRIES"] = "0"
    try:
        failures = dead.check({}, base).failures
    finally:
        del os.environ["LINQ_RPC_RETRIES"]
    assert failures and failures[0].property in ("signer", "linq:network")
    assert "127.0.0.1:9" in failures[0].reason


def test_engine_preview_and_up_reject_before_any_transaction(world: World, tmp_path: Path) -> None:
    wanted: dict[str, Any] = {"provider": "0x" + "cd" * 20}

    def program() -> None:
        from components.escrow import Escrow

        Escrow("bad", resources=RES, duration="1h", **wanted)

    stack = inline_stack(
        world.devnet, project="escrowpreview", stack=f"p{uuid.uuid4().hex[:8]}", program=program, work_dir=tmp_path
    )
    stack.set_config("linq:signerKey", auto.ConfigValue(world.key, secret=True))
    stack.set_config("linq:network", auto.ConfigValue(world.network))
    nonce = world.requestor.nonce(world.requestor.address)
    with pytest.raises(auto.errors.CommandError) as err:
        stack.preview()
    assert "property provider" in str(err.value) and "is not registered" in str(err.value)
    wanted.clear()
    wanted.update({"offer": world.offer(deadline_in=-60)})
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    assert "property offer" in str(err.value) and "ask the provider for a fresh offer" in str(err.value)
    assert world.requestor.nonce(world.requestor.address) == nonce
    stack.workspace.remove_stack(stack.name, force=True)
