"""A throwaway local chain for contract tests and the gas bench: anvil on a free loopback port.

anvil prints every dev key unless --silent; it runs with the Prague rules our bytecode targets, and is
stopped (by its own pid) when the context exits. The devnet (linq.devnet) is the long-lived equivalent.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from web3 import Web3

from linq.tools.locate import require


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def anvil_chain(timeout: float = 30.0) -> Iterator[Web3]:
    """Start anvil, yield a Web3 connected to it, stop it afterwards."""
    port = _free_port()
    argv = [str(require("anvil")), "--host", "127.0.0.1", "--port", str(port), "--silent",
            "--hardfork", "prague", "--accounts", "4"]  # fmt: skip
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 30}))
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"anvil exited with {proc.returncode} on port {port}: {err.strip()}")
            try:
                if w3.is_connected():
                    break
            except Exception:  # noqa: S110 - not listening yet
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"anvil did not answer on 127.0.0.1:{port} within {timeout}s")
            time.sleep(0.1)
        yield w3
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fund_eth(w3: Web3, address: str, wei: int = 10**21) -> None:
    """Give `address` ether on anvil (anvil_setBalance) so a fresh LocalAccount can pay gas."""
    w3.provider.make_request("anvil_setBalance", [address, hex(wei)])  # type: ignore[arg-type]


def increase_time(w3: Web3, seconds: int) -> int:
    """Move anvil's clock forward and mine a block; returns the new block timestamp."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return int(w3.eth.get_block("latest")["timestamp"])
