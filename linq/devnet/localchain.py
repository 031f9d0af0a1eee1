"""A throwaway local chain for contract tests and the gas bench, and the anvil-only cheats they use.

The chain is the one launcher's `LocalAnvil` (linq.devnet.anvil): a free loopback port, silent, the Prague
rules our bytecode targets, four funded accounts, stopped by its own pid when the context exits. The devnet
(linq.devnet) is the long-lived equivalent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from web3 import Web3

from linq.devnet.anvil import LocalAnvil


@contextmanager
def anvil_chain(timeout: float = 30.0) -> Iterator[Web3]:
    """Start anvil, yield a Web3 connected to it, stop it afterwards."""
    with LocalAnvil(ttl_seconds=None, seeding=False, extra_args=("--accounts", "4"), timeout=timeout) as url:
        yield Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))


def fund_eth(w3: Web3, address: str, wei: int = 10**21) -> None:
    """Give `address` ether on anvil (anvil_setBalance) so a fresh LocalAccount can pay gas."""
    w3.provider.make_request("anvil_setBalance", [address, hex(wei)])  # type: ignore[arg-type]


def increase_time(w3: Web3, seconds: int) -> int:
    """Move anvil's clock forward and mine a block; returns the new block timestamp."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return int(w3.eth.get_block("latest")["timestamp"])
