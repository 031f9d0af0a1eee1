"""Deploying the protocol's contracts onto the devnet chain and writing the address book."""

from __future__ import annotations

import json
from pathlib import Path

from linq.devnet import anvil

# Dev accounts each get this much LNQ (wei); the deployer keeps the rest of the supply.
DEV_LNQ_BALANCE = 1_000_000 * 10**18
LNQ_SUPPLY = 1_000_000_000 * 10**18
MIN_PREPAID_SECONDS = 600


def deploy_to_devnet(rpc_url: str, state_dir: Path, addresses_file: Path) -> dict:
    from eth_account import Account
    from web3 import Web3

    from linq.chain.deploy import deploy_all

    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    keys = anvil.dev_keys(state_dir)
    deployer = Account.from_key(keys[0])
    fund = {Account.from_key(key).address: DEV_LNQ_BALANCE for key in keys[1:]}
    book = deploy_all(w3, deployer, lnq_supply=LNQ_SUPPLY, fund=fund, min_prepaid_seconds=MIN_PREPAID_SECONDS)
    data = json.loads(book.model_dump_json())
    addresses_file.write_text(json.dumps(data, indent=2) + "\n")
    return data
