"""Every table the CLI prints fits 80 columns: rendered by the real commands against a real devnet (providers
with long regions and GPU classes, an escrow), at COLUMNS=80. No line is wider than 80, no header is broken
inside a word (the "one letter per row" headers), and ids are either whole or shortened with a note saying
where the whole ones are."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.chain import registration as reg
from linq.cli import main
from linq.cli.tables import SHORTENED_NOTE, short_id
from linq.contracts.terms import Resources
from linq.devnet import Devnet
from linq.devnet.accounts import deployer, fresh_wallet, register_provider
from linq.protocol.money import deposit_for

pytestmark = pytest.mark.integration
RES = Resources(1000, 1024, 10)


@pytest.fixture(scope="module")
def world(devnet: Devnet) -> dict[str, str]:
    bank = deployer(devnet.state_dir)
    addresses = []
    for region, gpus in (
        ("eu-west-1", (reg.GpuClassSpec(1, "nvidia-a100", 2, 9 * 10**17),)),
        ("us-east-2", ()),
    ):
        _k, signer = fresh_wallet(bank, lnq=0)
        client = ChainClient(bank.profile, signer)
        register_provider(client, cpu=128_000, region=region, gpus=gpus)
        addresses.append(client.address)
    key, signer = fresh_wallet(bank, lnq=100 * 10**18)
    payer = ChainClient(bank.profile, signer)
    rate = int(bank.registry.functions.quote(addresses[1], RES.as_tuple()).call())
    terms, _ = ops.create(payer, ops.CreatePlan(addresses[1], RES, deposit_for(rate, 7200), ops.salt_for("t80"), rate))
    return {"key": key, "provider": addresses[1], "escrow": "0x" + terms.escrow_id.hex()}


# (args after the network flags are added, header words that must appear whole)
TABLES = [
    (["providers", "list"], ["provider", "region", "CPU", "memory", "storage", "core-h", "GPUs", "rep.", "state"]),
    (["providers", "match", "--cpu", "1", "--duration", "1d2h"], ["provider", "region", "LNQ/h", "score", "room"]),
    (["providers", "match", "--cpu", "1", "--max-price", "1 wei/h", "--explain"], ["provider", "reasons"]),
    (["estimate", "--cpu", "1", "--duration", "36h"], ["rate", "deposit", "minimum"]),
    (["escrow", "list"], ["escrow", "status", "provider", "deposit", "earned", "paid", "runway"]),
    (["escrow", "status", "{escrow}"], ["requestor", "provider", "withdrawable", "runway"]),
    (["providers", "show", "{provider}"], ["active", "region", "reputation"]),
    (["provider", "show", "{provider}"], []),
    (["templates", "list"], ["id", "category", "version", "plan", "gpu", "image"]),
    (["templates", "plans"], ["plan"]),
    (["templates", "show", "postgresql"], ["name", "type", "default", "required", "description"]),
]


@pytest.mark.parametrize("args,headers", TABLES, ids=[" ".join(a[:2]) + f"-{i}" for i, (a, _) in enumerate(TABLES)])
def test_every_table_fits_80_columns(
    devnet: Devnet, world: dict[str, str], args: list[str], headers: list[str]
) -> None:
    args = [a.format(**world) for a in args]
    net = [] if args[0] == "templates" else ["--devnet-dir", str(devnet.state_dir)]
    env = {"COLUMNS": "80", "LINQ_PRIVATE_KEY": world["key"]}
    result = CliRunner().invoke(main, [*args, *net], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, "\n".join(too_wide)
    for word in headers:
        assert re.search(rf"(^|[\s┃│]){re.escape(word)}", result.output), f"header {word!r} broken:\n{result.output}"
    letters = [line for line in lines if re.fullmatch(r"[┃│ ]*([^\s┃│][┃│ ]+){4,}[^\s┃│]?[┃│ ]*", line)]
    assert not letters, "a header or cell broken one letter per row:\n" + result.output
    for ident in (world["escrow"], world["provider"]):
        if short_id(ident) in result.output:  # shortened: the note says where the whole id is
            assert SHORTENED_NOTE.split(":")[0] in result.output, result.output
