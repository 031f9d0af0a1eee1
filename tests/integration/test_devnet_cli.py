"""`linq devnet up | status | down` as a person runs it: every part healthy, and nothing left behind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from linq.devnet import Devnet
from linq.tools import locate

pytestmark = pytest.mark.integration
LINQ = str(locate.PROJECT_ROOT / ".venv" / "bin" / "linq")


def linq(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINQ, *args], capture_output=True, text=True, timeout=300, check=False)


def test_up_status_down(tmp_path: Path) -> None:
    state = str(tmp_path / "net")
    up = linq("devnet", "up", "--state-dir", state, "--ttl", "600", "--nodes", "2", "--node-gpus", "1")
    assert up.returncode == 0, up.stderr
    try:
        status = linq("devnet", "status", "--state-dir", state, "--json")
        assert status.returncode == 0, status.stdout
        report = json.loads(status.stdout)
        assert report["healthy"] is True
        parts = {p["part"]: p for p in report["parts"]}
        for part in (
            "anvil",
            "contracts",
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
            "provisioner",
            "pulumi",
            "watchdog",
        ):
            assert parts[part]["state"] == "healthy", parts[part]
        # every server listens on loopback only
        assert all("127.0.0.1:" in p["where"] for p in report["parts"] if p["where"] != "-" and p["pid"] != "-")
        # secrets stay out of the state file and of what `status` prints
        mnemonic = (Path(state) / "secrets" / "mnemonic").read_text().strip()
        assert mnemonic not in (Path(state) / "devnet.json").read_text()
        assert mnemonic not in status.stdout + up.stdout + up.stderr
        # the devnet's own provider (dev account 1) is registered, so `provider: local` works right away;
        # registering again sends nothing
        from linq.chain import registration
        from linq.chain.client import ChainClient
        from linq.chain.network import devnet_profile
        from linq.chain.signers import from_dev_account
        from linq.devnet import anvil
        from linq.devnet.localprovider import register_local_provider

        local = anvil.dev_addresses(Path(state))[anvil.LOCAL_PROVIDER_INDEX]
        assert f"provider {local}" in up.stderr
        client = ChainClient(devnet_profile(Path(state)), from_dev_account(Path(state), anvil.LOCAL_PROVIDER_INDEX))
        record = registration.read(client, local)
        assert record is not None and record.active
        nonce = client.w3.eth.get_transaction_count(local)
        assert register_local_provider(Path(state)) == local
        assert client.w3.eth.get_transaction_count(local) == nonce
        env = linq("devnet", "env", "--state-dir", state)
        assert "PULUMI_BACKEND_URL=file://" in env.stdout
        assert "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION" in env.stdout
        # a second `up` on a running devnet is refused with a clear message
        again = linq("devnet", "up", "--state-dir", state)
        assert again.returncode != 0 and "already running" in again.stderr
    finally:
        down = linq("devnet", "down", "--state-dir", state)
    assert down.returncode == 0
    records, _ = Devnet(Path(state)).read()
    assert records == []
    pids = [int(p["pid"]) for p in report["parts"] if p["pid"] != "-"]
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", f"pid {pid} still runs"
    after = linq("devnet", "status", "--state-dir", state)
    assert after.returncode == 1
