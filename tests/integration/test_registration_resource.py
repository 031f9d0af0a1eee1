"""ProviderRegistration through the real engine (register, in-place updates, deactivate on destroy) and
`linq provider register | update | show` plus `linq escrow` commands through the CLI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner
from pulumi import automation as auto

from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.chain import registration as reg
from linq.cli import main
from linq.contracts.terms import Resources, Terms
from linq.devnet import Devnet
from linq.devnet.accounts import advance, deployer, fresh_wallet, register_provider
from linq.engine import inline_stack
from linq.protocol.money import deposit_for

pytestmark = pytest.mark.integration


def test_registration_lifecycle_through_the_engine(devnet: Devnet, tmp_path: Path) -> None:
    bank = deployer(devnet.state_dir)
    key, signer = fresh_wallet(bank, lnq=0)
    client = ChainClient(bank.profile, signer)
    spec: dict[str, Any] = {
        "cpu": 16000,
        "memory": 65536,
        "storage": 500,
        "price_cpu": "1000000000000",
        "price_memory": "100000000000",
        "price_storage": "10000000000000",
        "region": "eu-west",
        "meta": "https://example.invalid/a.json",
        "gpu_classes": ["1:nvidia-a100:2:900000000000000000"],
    }

    def program() -> None:
        from components.registration import ProviderRegistration

        ProviderRegistration("me", **spec)

    stack = inline_stack(
        devnet, project="registration", stack=f"r{uuid.uuid4().hex[:8]}", program=program, work_dir=tmp_path
    )
    stack.set_config("linq:signerKey", auto.ConfigValue(key, secret=True))
    stack.set_config(
        "linq:network", auto.ConfigValue(json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)}))
    )
    stack.up()
    record = reg.read(client, signer.address)
    assert record is not None and record.active and record.cpu_millis == 16000 and record.region == "eu-west"
    assert record.gpu_classes == (reg.GpuClassSpec(1, "nvidia-a100", 2, 9 * 10**17),)
    assert stack.up().summary.resource_changes == {"same": 2}

    spec.update(
        cpu=24000,
        price_cpu="2000000000000",
        region="eu-north",
        meta="0x" + "ab" * 32,
        gpu_classes=["1:nvidia-a100:4:800000000000000000", "2:nvidia-h100:1:2000000000000000000"],
    )
    updated = stack.up()
    assert updated.summary.resource_changes == {"same": 1, "update": 1}  # in place, never replaced
    record = reg.read(client, signer.address)
    assert record is not None
    assert (record.cpu_millis, record.price_cpu, record.region) == (24000, 2 * 10**12, "eu-north")
    assert record.meta_hash == bytes.fromhex("ab" * 32)
    assert [g.count for g in record.gpu_classes] == [4, 1]

    stack.destroy()
    record = reg.read(client, signer.address)
    assert record is not None and not record.active  # deactivated; the registry keeps the record
    stack.workspace.remove_stack(stack.name)


def _run(args: list[str], key: str | None = None) -> Any:
    result = CliRunner().invoke(main, args, env={"LINQ_PRIVATE_KEY": key} if key else {})
    return result


def test_cli_provider_register_is_idempotent_and_update_changes_only_what_differs(devnet: Devnet) -> None:
    bank = deployer(devnet.state_dir)
    key, signer = fresh_wallet(bank, lnq=0)
    net = ["--devnet-dir", str(devnet.state_dir)]
    flags = [
        "--cpu",
        "8000m",
        "--memory",
        "16384Mi",
        "--storage",
        "200Gi",
        "--price-cpu",
        "1000000000000 wei/h",
        "--price-memory",
        "100000000000 wei/h",
        "--price-storage",
        "10000000000000 wei/h",
        "--region",
        "us-east",
        "--meta",
        "ipfs://bafy-example",
        "--gpu",
        "1:nvidia-l4:2:0.3 LNQ/h",
        "--json",
    ]
    first = _run(["provider", "register", *flags, *net], key)
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert data["changed"] and data["calls"] == ["register", "updateGpuClass(1)"]
    again = json.loads(_run(["provider", "register", *flags, *net], key).output)
    assert again == {**again, "changed": False, "calls": [], "tx_hashes": {}}
    update = json.loads(_run(["provider", "update", "--price-cpu", "3 wei/h", "--json", *net], key).output)
    assert update["calls"] == ["updateBaseRanges"] and update["record"]["price_cpu"] == "3"
    assert update["record"]["gpu_classes"][0]["model"] == "nvidia-l4"  # untouched flags keep their value
    shown = json.loads(_run(["provider", "show", signer.address, "--json", *net]).output)
    assert shown["region"] == "us-east" and shown["registered"]

    bad = _run(["provider", "register", *flags[:-1], "--gpu", "1:nvidia-l4:two:3 wei/h", *net], key)
    assert bad.exit_code == 2 and "--gpu count" in bad.output and "'two'" in bad.output
    nokey = _run(["provider", "update", "--cpu", "1", *net])
    assert nokey.exit_code == 4 and "LINQ_PRIVATE_KEY" in nokey.output
    down = _run(
        ["provider", "show", signer.address, "--rpc", "http://127.0.0.1:9", "--addresses", str(devnet.addresses_file)]
    )
    assert down.exit_code == 3 and "http://127.0.0.1:9" in down.output


class CliEscrow(NamedTuple):
    bank: ChainClient
    provider: ChainClient
    pkey: str
    requestor: ChainClient
    rkey: str
    terms: Terms
    rate: int
    deposit: int

    @property
    def escrow_id(self) -> str:
        return "0x" + self.terms.escrow_id.hex()


def _cli_escrow(devnet: Devnet, seed: str) -> CliEscrow:
    """A fresh provider (4 CPUs) and requestor, and a Created escrow between them funded for 15 minutes."""
    bank = deployer(devnet.state_dir)
    pkey, psigner = fresh_wallet(bank, lnq=0)
    provider = ChainClient(bank.profile, psigner)
    register_provider(provider, cpu=4000)
    rkey, rsigner = fresh_wallet(bank, lnq=10**18)
    requestor = ChainClient(bank.profile, rsigner)
    res = Resources(1000, 1024, 10)
    rate = int(bank.registry.functions.quote(provider.address, res.as_tuple()).call())
    deposit = deposit_for(rate, 900)
    terms, _ = ops.create(requestor, ops.CreatePlan(provider.address, res, deposit, ops.salt_for(seed), rate))
    return CliEscrow(bank, provider, pkey, requestor, rkey, terms, rate, deposit)


def test_cli_escrow_commands(devnet: Devnet) -> None:
    x = _cli_escrow(devnet, "cli")
    bank, provider, pkey, rkey, terms, rate, deposit = x.bank, x.provider, x.pkey, x.rkey, x.terms, x.rate, x.deposit
    escrow_id = x.escrow_id
    net = ["--devnet-dir", str(devnet.state_dir)]

    listed = json.loads(_run(["escrow", "list", "--json", *net], rkey).output)["escrows"]
    assert [e["escrow_id"] for e in listed] == [escrow_id]
    status = json.loads(_run(["escrow", "status", escrow_id, "--json", *net]).output)["escrow"]
    assert status["status"] == "Created" and status["deposited"] == str(deposit)

    topped = _run(["escrow", "top-up", escrow_id, f"{rate} wei", "--json", *net], rkey)
    assert topped.exit_code == 0, topped.output
    assert json.loads(topped.output)["escrow"]["deposited"] == str(deposit + rate)
    provider.send(provider.escrow.functions.start(terms.as_tuple()), what="start")
    advance(bank, 600)
    withdrawn = json.loads(_run(["escrow", "withdraw", escrow_id, "--json", *net], pkey).output)["escrow"]
    assert int(withdrawn["withdrawn"]) == provider.lnq_balance(provider.address) > 0
    early = _run(["escrow", "finalize", escrow_id, *net], rkey)
    assert early.exit_code == 1 and "finalize after that, or stop it" in early.output
    stopped = json.loads(_run(["escrow", "stop", escrow_id, "--json", *net], rkey).output)["escrow"]
    assert stopped["status"] == "Stopped" and stopped["settlement"]["event"] == "Stopped"
    assert (
        int(stopped["settlement"]["to_provider"]) + int(stopped["settlement"]["refund"]) + int(withdrawn["withdrawn"])
        == deposit + rate
    )
    table = _run(["escrow", "status", escrow_id, *net])
    assert table.exit_code == 0 and "Stopped" in table.output
    assert _run(["escrow", "status", "0x" + "00" * 32, *net]).exit_code == 2


def test_cli_escrow_decline(devnet: Devnet) -> None:
    """`linq escrow decline` (the provider refuses an escrow it has not started): the requestor gets the whole
    deposit back, capacity is free again, and the provider's reputation does not move; nobody else may decline."""
    x = _cli_escrow(devnet, "decline")
    bank, provider, pkey, requestor, rkey, deposit = x.bank, x.provider, x.pkey, x.requestor, x.rkey, x.deposit
    escrow_id = x.escrow_id
    net = ["--devnet-dir", str(devnet.state_dir)]
    assert bank.registry.functions.usedCapacity(provider.address).call()[0] == 1000
    before = requestor.lnq_balance(requestor.address)

    by_requestor = _run(["escrow", "decline", escrow_id, *net], rkey)
    assert by_requestor.exit_code == 1 and f"only the provider {provider.address}" in by_requestor.output

    declined = _run(["escrow", "decline", escrow_id, "--json", *net], pkey)
    assert declined.exit_code == 0, declined.output
    shown = json.loads(declined.output)
    assert shown["action"] == "decline" and shown["escrow"]["status"] == "Cancelled"
    assert requestor.lnq_balance(requestor.address) - before == deposit
    assert bank.registry.functions.usedCapacity(provider.address).call()[0] == 0
    reputation = bank.registry.functions.getProvider(provider.address).call()[8]
    assert tuple(reputation) == (0, 0, 0, 0)  # completed, stoppedEarly, cancelled, totalEarned

    again = _run(["escrow", "decline", escrow_id, *net], pkey)
    assert again.exit_code == 1 and "Cancelled" in again.output
