"""`linq escrow top-up` above the confirmation threshold asks first, on the real chain and the real CLI: the
question shows the payer, the amount in LNQ and wei, the escrow and the new runway; without a terminal and
without --yes it refuses and nothing moves (balance, allowance, deposit); in a real terminal (a pty) "n" sends
nothing and "y" sends; --yes sends without asking; below the threshold nothing is asked."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.cli import main
from linq.contracts.terms import Resources, Terms
from linq.devnet import Devnet
from linq.devnet.accounts import deployer, fresh_wallet, register_provider
from linq.protocol.money import deposit_for, runway_seconds
from linq.units import WEI_PER_LNQ, format_duration
from tests.waiting import wait_for

pytestmark = pytest.mark.integration
RES = Resources(1000, 1024, 10)
BIG = 50 * WEI_PER_LNQ  # above the 10 LNQ default threshold


@pytest.fixture(scope="module")
def parties(devnet: Devnet) -> tuple[ChainClient, str, str]:
    bank = deployer(devnet.state_dir)
    _pkey, psigner = fresh_wallet(bank, lnq=0)
    provider = ChainClient(bank.profile, psigner)
    register_provider(provider, cpu=64_000)
    key, signer = fresh_wallet(bank, lnq=1_000 * WEI_PER_LNQ)
    return ChainClient(bank.profile, signer), key, provider.address


@pytest.fixture
def setup(parties: tuple[ChainClient, str, str], request: pytest.FixtureRequest) -> tuple[ChainClient, str, Terms, int]:
    """A fresh one-hour escrow per test (an escrow's runway is bounded; the tests' top-ups add up)."""
    payer, key, provider = parties
    rate = int(payer.registry.functions.quote(provider, RES.as_tuple()).call())
    plan = ops.CreatePlan(provider, RES, deposit_for(rate, 3600), ops.salt_for(request.node.name), rate)
    terms, _ = ops.create(payer, plan)
    return payer, key, terms, rate


def _money(payer: ChainClient, terms: Terms) -> tuple[int, int, int]:
    """What must not change when nothing is sent: balance, allowance to the Escrow, deposit."""
    return payer.lnq_balance(payer.address), payer.allowance(payer.address), ops.read_state(payer, terms).deposited


def _args(devnet: Devnet, terms: Terms, amount: str, *extra: str) -> list[str]:
    return ["escrow", "top-up", "0x" + terms.escrow_id.hex(), amount, "--devnet-dir", str(devnet.state_dir), *extra]


def test_without_a_terminal_or_yes_a_large_top_up_is_refused_and_nothing_moves(
    devnet: Devnet, setup: tuple[ChainClient, str, Terms, int]
) -> None:
    payer, key, terms, rate = setup
    before = _money(payer, terms)
    result = CliRunner().invoke(main, _args(devnet, terms, "50 LNQ"), env={"LINQ_PRIVATE_KEY": key})
    assert result.exit_code == 2, result.output
    out = result.output
    assert "--yes: 'not given' is needed to top up an escrow (50 LNQ, 50000000000000000000 wei)" in out
    assert "confirmation threshold 10 LNQ" in out and "nothing was sent" in out and "run again with --yes" in out
    assert payer.address in out and "0x" + terms.escrow_id.hex() in out
    runway_now, runway_after = runway_seconds(rate, before[2]), runway_seconds(rate, before[2] + BIG)
    assert runway_now is not None and runway_after is not None
    assert f"runway   {format_duration(runway_now)} -> {format_duration(runway_after)}" in out
    assert "Traceback" not in out
    assert _money(payer, terms) == before


def test_a_lower_threshold_from_the_environment_asks_for_small_moves_too(
    devnet: Devnet, setup: tuple[ChainClient, str, Terms, int]
) -> None:
    payer, key, terms, _rate = setup
    before = _money(payer, terms)
    env = {"LINQ_PRIVATE_KEY": key, "LINQ_CONFIRM_ABOVE": "0 LNQ"}
    result = CliRunner().invoke(main, _args(devnet, terms, "1 wei"), env=env)
    assert result.exit_code == 2 and "--yes" in result.output and "threshold 0 LNQ" in result.output, result.output
    assert _money(payer, terms) == before
    bad = CliRunner().invoke(main, _args(devnet, terms, "1 wei"), env={**env, "LINQ_CONFIRM_ABOVE": "lots"})
    assert bad.exit_code == 2 and "$LINQ_CONFIRM_ABOVE: 'lots' is not an LNQ amount" in bad.output, bad.output


def test_below_the_threshold_nothing_is_asked_and_yes_sends_a_large_one(
    devnet: Devnet, setup: tuple[ChainClient, str, Terms, int]
) -> None:
    payer, key, terms, _rate = setup
    balance, _allowance, deposited = _money(payer, terms)
    small = CliRunner().invoke(main, _args(devnet, terms, "1 LNQ"), env={"LINQ_PRIVATE_KEY": key})
    assert small.exit_code == 0 and "Send it?" not in small.output, small.output
    big = CliRunner().invoke(main, _args(devnet, terms, "50 LNQ", "--yes"), env={"LINQ_PRIVATE_KEY": key})
    assert big.exit_code == 0 and "Send it?" not in big.output, big.output
    assert _money(payer, terms) == (balance - 51 * WEI_PER_LNQ, 0, deposited + 51 * WEI_PER_LNQ)


def _in_terminal(args: list[str], env: dict[str, str], answer: bytes) -> tuple[int, str]:
    """Run the installed `linq` in a pseudo-terminal, answer its question, return (exit code, everything shown)."""
    master, slave = os.openpty()
    linq = str(Path(sys.executable).with_name("linq"))
    proc = subprocess.Popen([linq, *args], stdin=slave, stdout=slave, stderr=slave, env={**os.environ, **env})
    os.close(slave)
    shown = b""

    def read() -> bytes:
        nonlocal shown
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        return shown

    try:
        wait_for(lambda: b"Send it?" in read() or proc.poll() is not None, what="the confirmation question")
        assert b"Send it?" in shown, shown.decode(errors="replace")
        os.write(master, answer)
        wait_for(lambda: read() is not None and proc.poll() is not None, what="linq to exit")
        read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    return proc.returncode, shown.decode(errors="replace")


def test_in_a_terminal_no_sends_nothing_and_yes_sends(
    devnet: Devnet, setup: tuple[ChainClient, str, Terms, int]
) -> None:
    payer, key, terms, _rate = setup
    env = {"LINQ_PRIVATE_KEY": key}
    before = _money(payer, terms)
    code, shown = _in_terminal(_args(devnet, terms, "50 LNQ"), env, b"n\n")
    assert code == 1 and "Not sent: nothing moved." in shown, shown
    assert payer.address in shown and "50 LNQ (50000000000000000000 wei)" in shown
    assert _money(payer, terms) == before
    code, shown = _in_terminal(_args(devnet, terms, "50 LNQ", "--json"), env, b"y\n")
    assert code == 0, shown
    assert _money(payer, terms) == (before[0] - BIG, 0, before[2] + BIG)
