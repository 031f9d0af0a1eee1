"""The one anvil launcher: the devnet's EVM node (persisted state, dev accounts from a per-devnet mnemonic)
and the throwaway chains of the contract tests, the gas bench and the market seeding (`LocalAnvil`).

The devnet's mnemonic is generated once per devnet and kept in a 0600 file under the state directory, so the
dev keys are not the well-known public test keys and a leak scan has something real to look for.
anvil always runs with --silent on 127.0.0.1 (`command`): it would otherwise print every dev private key.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from eth_account import Account

from linq.devnet import process
from linq.tools.locate import require

CHAIN_ID = 31337
DEV_ACCOUNTS = 10
DEV_ETH_BALANCE = 10_000  # ether per dev account (anvil --balance takes ether)
# Roles of the dev accounts: 0 deploys the contracts; 1 is the devnet's own provider (its cluster is the
# devnet's Kubernetes); 2 is the default requestor of the example stack and the demo.
DEPLOYER_INDEX, LOCAL_PROVIDER_INDEX, REQUESTOR_INDEX = 0, 1, 2
# 6 is the `real` provider whose tenants run on the devnet's real node (linq.devnet.gateway.start_real_provider)
REAL_PROVIDER_INDEX = 6

# The throwaway chains' rules: the Prague hardfork our bytecode targets. Seeding (bench/tests filling a market
# with raw transactions from many addresses) also wants any sender accepted and no block gas limit.
THROWAWAY_FLAGS = ("--hardfork", "prague")
SEEDING_FLAGS = ("--auto-impersonate", "--disable-block-gas-limit")

Account.enable_unaudited_hdwallet_features()


class AnvilError(RuntimeError):
    """anvil exited or did not answer; the message names the port and anvil's own words."""


def command(port: int, *flags: str) -> list[str]:
    """The argv of anvil on 127.0.0.1:PORT, silent (it would print every dev key), with `flags`."""
    return [str(require("anvil")), "--host", "127.0.0.1", "--port", str(port), "--silent", *flags]


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
    return [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").key.hex() for i in range(count)]


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
    argv = command(
        port,
        "--chain-id",
        str(CHAIN_ID),
        "--accounts",
        str(DEV_ACCOUNTS),
        "--balance",
        str(DEV_ETH_BALANCE),
        "--mnemonic",
        mnemonic,
        "--state",
        str(state_dir / "anvil-state.json"),
        "--state-interval",
        "5",
    )
    record = process.start("anvil", argv, log_dir, ports={"rpc": port}, redact=(mnemonic,))
    url = f"http://127.0.0.1:{port}"
    process.wait_until(lambda: rpc_call(url, "eth_chainId") is not None, what="anvil RPC", timeout=120, record=record)
    return record


class LocalAnvil:
    """A throwaway anvil on 127.0.0.1:<free port>: `with LocalAnvil() as url:` ... stopped (by its pid) on exit.

    `ttl_seconds` wraps anvil in `timeout`, so it stops itself even if our process is killed (None: no limit);
    `seeding` adds SEEDING_FLAGS; `extra_args` go last.
    """

    def __init__(
        self,
        *,
        ttl_seconds: int | None = 1800,
        extra_args: Sequence[str] = (),
        seeding: bool = True,
        timeout: float = 30.0,
    ) -> None:
        self.port = process.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ttl_seconds = ttl_seconds
        self.flags = [*THROWAWAY_FLAGS, *(SEEDING_FLAGS if seeding else ()), *extra_args]
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        ttl = ["timeout", str(self.ttl_seconds)] if self.ttl_seconds is not None else []
        argv = [*ttl, *command(self.port, *self.flags)]
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                code = self.process.returncode
                self.stop()
                raise AnvilError(f"anvil exited with {code} on port {self.port}: {err.strip()}")
            try:
                rpc_call(self.url, "eth_chainId", timeout=2)
                return self.url
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AnvilError(f"anvil did not answer on {self.url} within {self.timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
