"""Zero and negative quantities on the command line get the house-style error (field, value, fix) and exit 2,
before any network or key is needed: never a click default ("No such option '-1'"), a traceback, or a fix
naming a flag that does not exist."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from linq.cli import main

ESCROW = "0x" + "ab" * 32
GUARD = ["runway", "guard", "--escrow", ESCROW]
OFFER = ["offer", "sign", "--cpu", "1", "--rate", "1 LNQ/h"]

CASES = [
    (["escrow", "top-up", ESCROW, "-1"], "AMOUNT: '-1' is negative"),
    (["escrow", "top-up", ESCROW, "-1 LNQ"], "AMOUNT: '-1 LNQ' is negative"),
    (["escrow", "top-up", ESCROW, "-0.5LNQ"], "AMOUNT: '-0.5LNQ' is negative"),
    (["escrow", "top-up", ESCROW, "0"], "AMOUNT: '0' is zero; give an amount above 0"),
    (["escrow", "top-up", ESCROW, "0 wei"], "AMOUNT: '0 wei' is zero"),
    (["estimate", "--cpu", "1", "--duration", "0"], "--duration: '0' is zero; give more than zero, e.g. --duration 1h"),
    (["estimate", "--cpu", "1", "--duration", "0s"], "--duration: '0s' is zero"),
    (["estimate", "--cpu", "1", "--duration", "-1h"], "--duration: '-1h' is negative"),
    (["providers", "match", "--cpu", "1", "--duration", "0m"], "--duration: '0m' is zero"),
    (["estimate", "--cpu", "0"], "--cpu: '0' and the other resources are all zero"),
    (["estimate", "--cpu", "0", "--memory", "0"], "are all zero; ask for something"),
    (["estimate", "--cpu", "1", "--max-price", "0"], "--max-price: '0' is zero"),
    (["estimate", "--cpu", "1", "--max-price", "-1 LNQ/h"], "--max-price: '-1 LNQ/h' is negative"),
    (["estimate", "--cpu", "1", "--max-total", "0 LNQ"], "--max-total: '0 LNQ' is zero"),
    (["providers", "match", "--cpu", "1", "--min-reputation", "-1"], "correct --min-reputation"),
    ([*GUARD, "--below", "0", "--amount", "1 LNQ", "--cap", "2 LNQ"], "--below: '0' is zero"),
    ([*GUARD, "--below", "1h", "--amount", "0", "--cap", "2 LNQ"], "--amount: '0' is zero"),
    ([*GUARD, "--below", "1h", "--amount", "1 LNQ", "--cap", "0 wei"], "--cap: '0 wei' is zero"),
    ([*GUARD, "--below", "1h", "--amount", "-1 LNQ", "--cap", "2 LNQ"], "--amount: '-1 LNQ' is negative"),
    ([*GUARD, "--below", "1h", "--amount", "1 LNQ", "--cap", "2 LNQ", "--interval", "0"], "--interval: '0' is zero"),
    ([*OFFER, "--max-duration", "0"], "--max-duration: '0' is zero"),
    ([*OFFER, "--valid-for", "0s"], "--valid-for: '0s' is zero"),
    ([*OFFER, "--min-duration", "-1h"], "--min-duration: '-1h' is negative"),
]


@pytest.mark.parametrize("args,message", CASES, ids=[" ".join(a[:2] + a[-2:]) for a, _ in CASES])
def test_zero_and_negative_inputs_are_refused_in_house_style(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LINQ_RPC_URL", "LINQ_ADDRESSES", "LINQ_DEVNET_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINQ_PRIVATE_KEY", "0x" + "11" * 32)  # a throwaway key: `offer sign` loads one first
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert "No such option" not in result.output and "Traceback" not in result.output
    assert "--duration-seconds" not in result.output  # a fix names only a flag that exists
