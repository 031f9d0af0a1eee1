"""Runway protection on a real escrow: the guard tops up below the threshold, stops at the cap, and remembers
what it spent across restarts (the CLI included)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from linq.chain import escrows as ops
from linq.chain.client import ChainClient
from linq.chain.network import devnet_profile
from linq.devnet import Devnet
from linq.devnet.accounts import advance, deployer, fresh_wallet, register_provider
from linq.runway import Ledger, RunwayPolicy, guard_once, spent_on_chain
from linq.tools import locate

pytestmark = pytest.mark.integration
HOUR = 3600


def test_guard_tops_up_below_threshold_until_the_cap(devnet: Devnet, tmp_path) -> None:
    from linq.agent.devnet import fund_escrow

    bank = deployer(devnet.state_dir)
    profile = devnet_profile(devnet.state_dir)
    _pkey, provider_signer = fresh_wallet(bank, lnq=0)
    provider = ChainClient(profile, provider_signer)
    register_provider(provider)
    requestor_key, requestor_signer = fresh_wallet(bank, lnq=100 * 10**18)
    requestor = ChainClient(profile, requestor_signer)

    terms = fund_escrow(requestor, provider.address, seconds=3 * HOUR)
    provider.send(provider.escrow.functions.start(terms.as_tuple()), what="start")
    escrow_id = "0x" + terms.escrow_id.hex()
    rate = terms.rate_per_hour
    policy = RunwayPolicy(below_seconds=2 * HOUR, amount=rate, cap=rate + rate // 2)  # 1 h, then half an hour
    ledger = Ledger(tmp_path / "ledger.json")

    assert guard_once(requestor, {escrow_id: policy}, ledger)[0]["event"] == "no-top-up"  # 3 h left: not due
    advance(bank, int(1.5 * HOUR))  # 1.5 h left
    before = ops.read_state(requestor, terms).deposited
    action = guard_once(requestor, {escrow_id: policy}, ledger)[0]
    assert action["event"] == "topped-up" and int(action["amount"]) == rate
    assert ops.read_state(requestor, terms).deposited == before + rate

    advance(bank, int(1.5 * HOUR))  # 1 h left again: the cap allows only half an hour more
    action = guard_once(requestor, {escrow_id: policy}, ledger)[0]
    assert int(action["amount"]) == rate // 2

    # A restarted guard (a new process, through the CLI) reads the ledger and refuses to pass the cap.
    advance(bank, int(0.5 * HOUR))
    env = dict(os.environ, LINQ_PRIVATE_KEY=requestor_key)
    argv = [
        str(locate.PROJECT_ROOT / ".venv" / "bin" / "linq"),
        "runway",
        "guard",
        "--once",
        "--devnet-dir",
        str(devnet.state_dir),
        "--escrow",
        escrow_id,
        "--below",
        "2h",
        "--amount",
        f"{policy.amount} wei",
        "--cap",
        f"{policy.cap} wei",
        "--ledger",
        str(tmp_path / "ledger.json"),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout.splitlines()[0])
    assert decision["event"] == "no-top-up" and decision["detail"] == "cap reached"
    assert requestor_key.removeprefix("0x") not in done.stdout + done.stderr
    topped = requestor.escrow.events.ToppedUp.get_logs(argument_filters={"id": terms.escrow_id}, from_block=0)
    assert sum(int(log["args"]["amount"]) for log in topped) == policy.cap

    # The ledger lost: the guard's tagged transactions on chain still say what it spent. A top-up by hand from
    # the same wallet (untagged) does not count against the cap.
    (tmp_path / "ledger.json").unlink()
    ops.top_up(requestor, terms, rate)
    assert spent_on_chain(requestor, terms.escrow_id) == policy.cap
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout.splitlines()[0])
    assert decision["event"] == "no-top-up" and decision["detail"] == "cap reached", decision
