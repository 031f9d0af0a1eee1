"""Network profiles: where the chain is (RPC URL, chain id) and where the contracts are (address book).

Two kinds: the local devnet, read from its state directory (devnet.json + addresses.json), and any
JSON-RPC URL with a chain id and an address book file. `connect` checks that the node serves the chain
the profile names, so a stack can never send to the wrong network.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from web3 import Web3

from linq.chain.errors import InputError, NetworkConfigError, RpcUnavailable
from linq.chain.rpc import RetryingHTTPProvider
from linq.contracts import AddressBook

ENV_RPC = "LINQ_RPC_URL"
ENV_CHAIN_ID = "LINQ_CHAIN_ID"
ENV_ADDRESSES = "LINQ_ADDRESSES"
ENV_DEVNET_DIR = "LINQ_DEVNET_DIR"


@dataclass(frozen=True)
class NetworkProfile:
    name: str  # "devnet" or "rpc"
    rpc_url: str
    chain_id: int
    book: AddressBook
    devnet_dir: Path | None = None

    def describe(self) -> str:
        where = f" ({self.devnet_dir})" if self.devnet_dir else ""
        return f"{self.name}{where}: chain {self.chain_id} at {self.rpc_url}, escrow {self.book.escrow}"


def load_book(path: Path, *, flag: str = "--addresses") -> AddressBook:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise NetworkConfigError(f"{flag} {path} does not exist; pass the address book JSON the devnet wrote") from None
    except json.JSONDecodeError as err:
        raise NetworkConfigError(f"{flag} {path} is not JSON ({err}); pass the address book file") from None
    try:
        return AddressBook.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise NetworkConfigError(
            f"{flag} {path}: {field} {first['msg'].lower()}; it needs chain_id, lnq, registry, escrow, deployed_block"
        ) from None


def devnet_profile(state_dir: Path) -> NetworkProfile:
    """The local devnet at `state_dir` (its RPC URL from devnet.json, contracts from addresses.json)."""
    from linq.devnet import Devnet

    net = Devnet(Path(state_dir))
    _, endpoints = net.read()
    if not endpoints.rpc_url:
        raise NetworkConfigError(
            f"--devnet-dir {state_dir} has no running devnet (no devnet.json); start one with `linq devnet up`"
        )
    if not net.addresses_file.exists():
        raise NetworkConfigError(
            f"--devnet-dir {state_dir} has no addresses.json; the devnet was started without contracts — "
            "restart it with `linq devnet up`"
        )
    book = load_book(net.addresses_file, flag="--devnet-dir addresses.json")
    return NetworkProfile("devnet", endpoints.rpc_url, book.chain_id, book, Path(state_dir))


def rpc_profile(rpc_url: str, addresses: Path, chain_id: int | None = None) -> NetworkProfile:
    """Any JSON-RPC endpoint; the chain id defaults to the address book's and must agree with it."""
    if not rpc_url.startswith(("http://", "https://")):
        raise InputError("--rpc", rpc_url, "is not an HTTP(S) URL", "pass e.g. http://127.0.0.1:8545")
    book = load_book(addresses)
    if chain_id is not None and chain_id != book.chain_id:
        raise InputError(
            "--chain-id",
            chain_id,
            f"does not match the address book {addresses} (chain {book.chain_id})",
            "pass the address book of that chain or fix --chain-id",
        )
    return NetworkProfile("rpc", rpc_url, book.chain_id, book)


def resolve_profile(
    *,
    devnet_dir: Path | str | None = None,
    rpc_url: str | None = None,
    chain_id: int | None = None,
    addresses: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> NetworkProfile:
    """Explicit values first (an RPC URL wins over a devnet dir), then $LINQ_RPC_URL + $LINQ_ADDRESSES, then
    $LINQ_DEVNET_DIR, then the default devnet directory."""
    env = os.environ if env is None else env
    if rpc_url:
        if not addresses and not env.get(ENV_ADDRESSES):
            raise NetworkConfigError(f"--rpc {rpc_url} needs --addresses FILE (the contracts' address book)")
        return rpc_profile(rpc_url, Path(addresses or env[ENV_ADDRESSES]), chain_id)
    if devnet_dir:
        return _check_chain(devnet_profile(Path(devnet_dir)), chain_id)
    if env.get(ENV_RPC) and env.get(ENV_ADDRESSES):
        wanted = chain_id if chain_id is not None else _int_env(env, ENV_CHAIN_ID)
        return rpc_profile(env[ENV_RPC], Path(env[ENV_ADDRESSES]), wanted)
    if env.get(ENV_DEVNET_DIR):
        return _check_chain(devnet_profile(Path(env[ENV_DEVNET_DIR])), chain_id)
    from linq.devnet import default_state_dir

    default = default_state_dir()
    if (default / "devnet.json").exists():
        return _check_chain(devnet_profile(default), chain_id)
    raise NetworkConfigError(
        "no network given: pass --devnet-dir DIR, or --rpc URL --addresses FILE [--chain-id N] "
        f"(or set ${ENV_RPC} and ${ENV_ADDRESSES}), or start a devnet with `linq devnet up`"
    )


def profile_for(network: Mapping[str, Any]) -> NetworkProfile:
    """The profile of a stack's `linq:network` ({kind, devnetDir, rpcUrl, chainId, addresses}): the one rule for
    the Escrow resource, placement and the stack program."""
    kind = network.get("kind") or ("rpc" if network.get("rpcUrl") else "devnet" if network.get("devnetDir") else "")
    if kind == "rpc":
        return resolve_profile(
            rpc_url=network.get("rpcUrl"), chain_id=network.get("chainId"), addresses=network.get("addresses")
        )
    if kind == "devnet":
        # An explicit devnet wins over an ambient $LINQ_RPC_URL (which `linq devnet env` also exports).
        devnet_dir = network.get("devnetDir") or os.environ.get(ENV_DEVNET_DIR) or None
        return resolve_profile(devnet_dir=devnet_dir, chain_id=network.get("chainId"))
    return resolve_profile()


def _check_chain(profile: NetworkProfile, chain_id: int | None) -> NetworkProfile:
    if chain_id is not None and chain_id != profile.chain_id:
        raise InputError(
            "--chain-id",
            chain_id,
            f"does not match {profile.describe()}",
            f"use --chain-id {profile.chain_id} or another network",
        )
    return profile


def _int_env(env: Mapping[str, str], name: str) -> int | None:
    text = env.get(name)
    if not text:
        return None
    if not text.isdigit():
        raise InputError(f"${name}", text, "is not a chain id", "set a positive whole number, e.g. 31337")
    return int(text)


def connect(profile: NetworkProfile, *, retries: int | None = None, timeout: float = 30.0) -> Web3:
    """web3 on the profile's RPC URL, with retries; fails if the node serves another chain."""
    w3 = Web3(RetryingHTTPProvider(profile.rpc_url, retries=retries, timeout=timeout))
    try:
        served = int(w3.eth.chain_id)
    except RpcUnavailable:
        raise
    if served != profile.chain_id:
        raise InputError(
            "chain id",
            served,
            f"is what {profile.rpc_url} serves, but the address book is for chain {profile.chain_id}",
            "point the RPC URL at that chain or use the address book of this one",
        )
    return w3
