"""Devnet helpers for demos and tests: fresh funded wallets, a registered provider, moving time.

Only for local chains (anvil's anvil_setBalance / evm_increaseTime); the deployer (dev account 0)
pays the LNQ. Keys are returned to the caller and never printed.
"""

from __future__ import annotations

from pathlib import Path

from eth_account import Account

from linq.chain import registration as reg
from linq.chain.client import ChainClient
from linq.chain.network import devnet_profile
from linq.chain.signers import Signer, from_dev_account, from_key
from linq.devnet.localchain import fund_eth, increase_time


def deployer(devnet_dir: Path) -> ChainClient:
    profile = devnet_profile(devnet_dir)
    return ChainClient(profile, from_dev_account(devnet_dir, 0))


def fresh_wallet(bank: ChainClient, *, lnq: int = 1_000 * 10**18, eth: int = 10**21) -> tuple[str, Signer]:
    """A new random key with `eth` wei of ETH (set directly) and `lnq` wei of LNQ (sent by the deployer)."""
    key = "0x" + bytes(Account.create().key).hex()
    signer = from_key(key, source="fresh devnet wallet")
    fund_eth(bank.w3, signer.address, eth)
    if lnq:
        bank.send(bank.lnq.functions.transfer(signer.address, lnq), what="fund wallet with LNQ")
    return key, signer


def register_provider(
    client: ChainClient,
    *,
    cpu: int = 64_000,
    memory: int = 262_144,
    storage: int = 4_000,
    region: str = "local",
    gpus: tuple[reg.GpuClassSpec, ...] = (),
) -> reg.RegistrationSpec:
    """Register the client's signer with round test prices: 1e12 wei/millicore-h, 1e11/MiB-h, 1e13/GiB-h.
    A gateway the provider already published stays published (as `linq provider update` without --gateway)."""
    current = reg.read(client, client.address)
    spec = reg.spec(
        cpu=cpu,
        memory=memory,
        storage=storage,
        price_cpu=10**12,
        price_memory=10**11,
        price_storage=10**13,
        region=region,
        meta="https://example.invalid/provider.json",
        gpus=gpus,
        gateway=current.gateway if current is not None else None,
    )
    reg.apply(client, spec)
    return spec


def advance(client: ChainClient, seconds: int) -> int:
    """Move the chain's clock forward and mine a block; returns the new block time."""
    increase_time(client.w3, seconds)
    return client.now()
