"""Connecting the market to a chain: web3 from --rpc, the address book from --addresses, contract handles.

ABIs come from the compiled artifacts (linq.contracts); nothing here copies an ABI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from linq.market.encoding import EncodingError, checksum

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract

ENV_RPC = "LINQ_RPC_URL"
ENV_ADDRESSES = "LINQ_ADDRESSES"


class NetworkError(RuntimeError):
    """The network or address book is missing or wrong; the message names the flag and the fix."""


def connect(rpc_url: str | None) -> Web3:
    from web3 import Web3

    url = rpc_url or os.environ.get(ENV_RPC)
    if not url:
        raise NetworkError(
            f"--rpc is not set and ${ENV_RPC} is empty; pass --rpc http://127.0.0.1:8545 "
            "or run `eval $(linq devnet env)`"
        )
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    try:
        w3.eth.chain_id  # noqa: B018 — a cheap call that fails fast when nothing listens
    except Exception as err:
        raise NetworkError(f"--rpc {url} does not answer ({err}); start the node or fix the URL") from None
    return w3


def load_address_book(path: str | Path | None) -> dict[str, str | int]:
    """{"chain_id", "lnq", "registry", "escrow", "deployed_block"} from the JSON the devnet writes."""
    where = path or os.environ.get(ENV_ADDRESSES)
    if not where:
        raise NetworkError(
            f"--addresses is not set and ${ENV_ADDRESSES} is empty; pass the address book JSON "
            "(`linq devnet env` prints it)"
        )
    try:
        data = json.loads(Path(where).read_text())
    except FileNotFoundError:
        raise NetworkError(f"--addresses {where} does not exist; pass the address book the devnet wrote") from None
    except json.JSONDecodeError as err:
        raise NetworkError(f"--addresses {where} is not JSON ({err}); pass the address book file") from None
    book: dict[str, str | int] = {}
    for key in ("registry", "escrow"):
        if key not in data:
            raise NetworkError(f"--addresses {where} has no {key!r} entry; it must list registry and escrow")
        try:
            book[key] = checksum(data[key], field=f"{where}:{key}")
        except EncodingError as err:
            raise NetworkError(str(err)) from None
    if "lnq" in data:
        book["lnq"] = checksum(data["lnq"], field=f"{where}:lnq")
    book["chain_id"] = int(data.get("chain_id", 0))
    book["deployed_block"] = int(data.get("deployed_block", 0))
    return book


def registry_contract(w3: Web3, address: str) -> Contract:
    from linq.contracts import contract

    return contract(w3, "ProviderRegistry", address)


def escrow_contract(w3: Web3, address: str) -> Contract:
    from linq.contracts import contract

    return contract(w3, "Escrow", address)
