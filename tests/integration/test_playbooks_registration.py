"""On-chain registration through site.yml: the playbook measures a test host over SSH and registers the
capacity with the real `linq provider register` on a real anvil with the real contracts; a re-run sends nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from linq.devnet import anvil, process
from linq.devnet.contracts import deploy_to_devnet
from linq.testhosts import test_hosts
from linq.testhosts.playbook import run_playbook
from tests.integration.hosts import require_test_hosts

pytestmark = [pytest.mark.integration, pytest.mark.slow]
LINQ = str(Path(sys.executable).parent / "linq")


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """(rpc url, address book, a funded dev key) on a fresh anvil that is stopped afterwards."""
    state = tmp_path / "anvil"
    record = anvil.start(state, tmp_path / "logs")
    try:
        url = f"http://127.0.0.1:{record.ports['rpc']}"
        book = tmp_path / "addresses.json"
        deploy_to_devnet(url, state, book)
        yield url, book, anvil.dev_keys(state)[4]
    finally:
        process.stop(record)


def test_site_registers_measured_capacity_on_chain_and_rerun_sends_nothing(
    chain: tuple[str, Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_test_hosts()
    rpc, book, key = chain
    monkeypatch.setenv("LINQ_PRIVATE_KEY", key)  # the controller's key, as a provider would export it
    artifacts = tmp_path / "artifacts"
    settings = {
        "lpstack_apply_kernel_changes": False,
        "lpstack_manage_services": False,
        "lpstack_install_k3s": False,
        "lpstack_register": True,
        "lpstack_linq_command": LINQ,
        "lpstack_rpc_url": rpc,
        "lpstack_addresses_file": str(book),
        "lpstack_artifacts_dir": str(artifacts),
        "lpstack_region": "eu-west",
        "lpstack_meta_hash": "0x" + "42" * 32,
        "lpstack_price_cpu_wei": "1000000000",
        "lpstack_price_memory_wei": "250000000",
        "lpstack_price_storage_wei": "7",
        "preflight_min_storage_gib": 1,
    }
    with test_hosts(1, groups={"servers": [0]}) as hosts:
        first = run_playbook("site.yml", hosts.inventory, extravars=settings, tags="preflight,registration")
        assert first.ok, first.describe()
        assert key not in first.stdout and key.removeprefix("0x") not in first.stdout
        assert first.changed()[hosts[0].name] >= 1
        again = run_playbook("site.yml", hosts.inventory, extravars=settings, tags="preflight,registration")
        assert again.ok, again.describe()
        assert again.changed() == {hosts[0].name: 0}, again.describe()  # the CLI said "changed": false

    address = Account.from_key(key).address
    shown = subprocess.run(
        [LINQ, "provider", "show", address, "--rpc", rpc, "--addresses", str(book), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    record = record.get("record", record)
    cluster = json.loads((artifacts / "cluster-capacity.json").read_text())["allocatable"]
    assert record["registered"] is True
    assert (record["cpu_millis"], record["memory_mib"], record["storage_gib"]) == (
        cluster["cpu_millicores"],
        cluster["memory_mib"],
        cluster["storage_gib"],
    )
    assert (record["price_cpu"], record["price_memory"], record["price_storage"]) == ("1000000000", "250000000", "7")
    assert record["region"] == "eu-west" and record["meta_hash"] == "0x" + "42" * 32
