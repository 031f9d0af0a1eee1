"""The devnet's EVM node: anvil with persisted state and dev accounts from a per-devnet mnemonic.

The mnemonic is generated once per devnet and kept in a 0600 file under the state directory, so the
dev keys are not the well-known public test keys and a leak scan has something real to look for.
anvil runs with --silent: it would otherwise print every dev private key to its log.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from eth_account import Account

from linq.devnet import process
from linq.tools.locate import require

CHAIN_ID = 31337
DEV_ACCOUNTS = 10
DEV_ETH_BALANCE = 10_000  # ether per dev account (anvil --balance takes ether)
# Roles of the dev accounts: 0 deploys the contracts; 1 is the devnet's own provider (its cluster is the
# devnet's Kubernetes); 2 is the default requestor of the example stack and the demo.
DEPLOYER_INDEX, LOCAL_PROVIDER_INDEX, REQUESTOR_INDEX = 0, 1, 2

Account.enable_unaudited_hdwallet_features()


def mnemonic_file(state_dir: Path) -> Path:
    return state_dir / "secrets" / "mnemonic"


def ensure_mnemonic(state_dir: Path) -> str:
    path = mnemonic_file(state_dir)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    _, mnemonic = Account.create_with_mnemonic(num_words=12)
    path.touch(mode=0o600)
    path.write_text(mnemonic + "\n")
    return mnemonic


def dev_keys(state_dir: Path, count: int = DEV_ACCOUNTS) -> list[str]:
    """The dev accounts' private keys (hex), index 0 is the deployer. Never print these."""
    mnemonic = ensure_mnemonic(state_dir)
    return [
        Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").key.hex() for i in range(count)
    ]


def dev_addresses(state_dir: Path, count: int = DEV_ACCOUNTS) -> list[str]:
    return [Account.from_key(key).address for key in dev_keys(state_dir, count)]


def rpc_call(url: str, method: str, params: list | None = None, timeout: float = 5.0) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310 - loopback http URL we built
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback URL we built
        reply = json.loads(response.read())
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def start(state_dir: Path, log_dir: Path, port: int | None = None) -> process.ProcessRecord:
    port = port or process.free_port()
    mnemonic = ensure_mnemonic(state_dir)
    argv = [
        str(require("anvil")),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(CHAIN_ID),
        "--accounts", str(DEV_ACCOUNTS),
        "--balance", str(DEV_ETH_BALANCE),
        "--mnemonic", mnemonic,
        "--state", str(state_dir / "anvil-state.json"),
        "--state-interval", "5",
        "--silent",
    ]  # fmt: skip
    record = process.start("anvil", argv, log_dir, ports={"rpc": port}, redact=(mnemonic,))
    url = f"http://127.0.0.1:{port}"
    process.wait_until(lambda: rpc_call(url, "eth_chainId") is not None, what="anvil RPC", timeout=120, record=record)
    return record
