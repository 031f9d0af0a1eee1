"""The README's main job (`make demo`) end to end, and its settlement summary checked against the chain."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from web3 import Web3

from linq.contracts import contract
from linq.devnet import Devnet
from linq.tools import locate

pytestmark = pytest.mark.integration


def test_demo_runs_from_deployment_to_settlement_and_matches_the_chain() -> None:
    # A short directory: the demo's devnet runs a real node, whose unix sockets live under it (107 bytes at most).
    state = Path(tempfile.mkdtemp(prefix="lq-demo-", dir="/tmp")) / "devnet"
    argv = [sys.executable, "-m", "components.demo", "--state-dir", str(state), "--keep"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=locate.PROJECT_ROOT, check=False)
    devnet = Devnet(state)
    try:
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        for step in ("escrow-withdrawn", "Settlement", "balanced to the wei", "What to try next"):
            assert step in done.stdout, step
        # the real node's part: a custom container deployed by `pulumi up` answers on its endpoint (CI runs as root)
        assert "A custom container on the real node" in done.stdout
        assert (
            "from the host -> HTTP/1.1 200 OK" in done.stdout and 'first bytes: b"Hello from a container' in done.stdout
        )
        summary = json.loads((state / "demo" / "settlement.json").read_text())
        assert summary["balanced"] is True
        # Independently of the demo's own arithmetic: the escrow's record on chain says the same.
        book = json.loads(devnet.addresses_file.read_text())
        w3 = Web3(Web3.HTTPProvider(devnet.read()[1].rpc_url))
        escrow = contract(w3, "Escrow", book["escrow"])
        escrow_id = bytes.fromhex(summary["escrow_ids"][0][2:])
        deposited, withdrawn, start, status = escrow.functions.record(escrow_id).call()
        assert deposited == summary["deposited"]
        assert withdrawn == summary["paid_to_provider"]  # after settlement: everything the provider got
        assert deposited - withdrawn == summary["refunded"]
        assert start > 0 and status != 1  # it was started, and it is no longer open
        kinds = [what for what, _tx in summary["transactions"]]
        assert kinds[0] == "EscrowCreated" and "Started" in kinds and "ToppedUp" in kinds and "Withdrawn" in kinds
        assert kinds[-1] in ("Stopped", "Finalized")
        for _what, tx in summary["transactions"]:
            assert w3.eth.get_transaction_receipt(tx)["status"] == 1
    finally:
        devnet.down()
        shutil.rmtree(state.parent, ignore_errors=True)
