"""A small world for the Blockchain API's tests: a throwaway anvil with the real contracts (no Kubernetes:
the API only talks to the chain), two registered providers, a funded requestor, an API key store with one
live and one revoked key, and `linq api serve` running as a real process on a free port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from linq.api.keys import SqliteKeyStore
from linq.chain import ChainClient, rpc_profile
from linq.chain import registration as reg
from linq.chain.deploy import deploy_all
from linq.chain.signers import from_key
from linq.devnet.accounts import fresh_wallet, register_provider
from linq.devnet.anvil import LocalAnvil
from linq.devnet.process import free_port
from tests.waiting import wait_for

ANVIL_KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public dev key
LNQ = 10**18


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


def http(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str | None = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310 - loopback API
    request.add_header("Content-Type", "application/json")
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback API
            return Reply(response.status, json.loads(response.read()), dict(response.headers))
    except urllib.error.HTTPError as err:
        text = err.read()
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = text.decode(errors="replace")
        return Reply(err.code, parsed, dict(err.headers))


class ApiServer:
    """`linq api serve` as a subprocess (keys: a SQLite file or a postgresql:// URL); stopped by its pid."""

    def __init__(self, url: str, book: Path, keys: Path | str, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        linq = str(Path(sys.executable).with_name("linq"))
        argv = [linq, "api", "serve", "--rpc", url, "--addresses", str(book), "--keys", str(keys)]
        argv += ["--port", str(self.port), "--index-max-age", "0", *extra]
        self.log = log
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log.open("ab"), env=dict(os.environ))
        wait_for(self._healthy, what=f"linq api serve on {self.base} (log {log})", timeout=120)

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"linq api serve exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
        return http(self.base, "GET", "/healthz").status == 200

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class World:
    def __init__(self, url: str, tmp: Path) -> None:
        self.url = url
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
        book = deploy_all(
            self.w3, Account.from_key(ANVIL_KEY0), lnq_supply=10**9 * LNQ, fund={}, min_prepaid_seconds=600
        )
        self.book_file = tmp / "addresses.json"
        self.book_file.write_text(book.model_dump_json())
        profile = rpc_profile(url, self.book_file)
        self.bank = ChainClient(profile, from_key(ANVIL_KEY0, source="anvil dev key 0"))
        self.provider_key, signer = fresh_wallet(self.bank, lnq=0)
        self.provider = ChainClient(profile, signer)
        register_provider(
            self.provider,
            cpu=8000,
            memory=16384,
            storage=200,
            region="eu-west",
            gpus=(reg.GpuClassSpec(1, "nvidia-a100", 2, 10**15),),
        )
        self.provider2_key, signer2 = fresh_wallet(self.bank, lnq=0)
        self.provider2 = ChainClient(profile, signer2)
        register_provider(self.provider2, cpu=2000, memory=4096, storage=50, region="us-east")
        self.requestor_key, rsigner = fresh_wallet(self.bank, lnq=100 * LNQ)
        self.requestor = ChainClient(profile, rsigner)
        self.poor_key, psigner = fresh_wallet(self.bank, lnq=0)
        self.poor = ChainClient(profile, psigner)
        self.keys_file = tmp / "api-keys.sqlite"
        store = SqliteKeyStore(self.keys_file)
        _info, self.key = store.create("tests")
        revoked, self.revoked_key = store.create("revoked")
        store.revoke(revoked.id)
        self.server = ApiServer(url, self.book_file, self.keys_file, tmp / "api.log", "--rate", "0")

    def escrow(self) -> str:
        """A Created escrow of the requestor, made with the library (as the CLI would)."""
        from linq.chain import escrows as ops
        from linq.chain.escrows import CreatePlan, salt_for
        from linq.market.models import Resources

        plan = CreatePlan(
            provider=self.provider.address,
            resources=Resources(cpu_millis=500, memory_mib=512, storage_gib=5),
            deposit=LNQ,
            salt=salt_for(f"api-tests-{self.url}"),
            max_rate_per_hour=10**18,
        )
        terms, _ = ops.create(self.requestor, plan)
        return "0x" + terms.escrow_id.hex()

    def get(self, path: str, **kw: Any) -> Reply:
        return http(self.server.base, "GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        kw.setdefault("key", self.key)
        return http(self.server.base, "POST", path, body, **kw)

    def sign_and_submit(self, built: dict[str, Any], private_key: str) -> list[dict[str, Any]]:
        """Sign each transaction the API built with `private_key` (as a wallet would) and relay it through the
        API; returns the receipts the API gave back."""
        receipts = []
        for tx in built["transactions"]:
            fields = {
                "to": tx["to"],
                "data": tx["data"],
                "value": int(tx["value"], 16),
                "gas": int(tx["gas"], 16),
                "maxFeePerGas": int(tx["maxFeePerGas"], 16),
                "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"], 16),
                "chainId": int(tx["chainId"], 16),
                "nonce": int(tx["nonce"], 16),
                "type": 2,
            }
            raw = "0x" + bytes(Account.sign_transaction(fields, private_key).raw_transaction).hex()
            reply = self.post("/api/v1/tx/submit", {"raw": raw})
            assert reply.status == 200, reply.body
            receipts.append(reply.body)
        return receipts


@contextmanager
def running_world(tmp: Path) -> Iterator[World]:
    """A World on a throwaway anvil (gone afterwards), its API server stopped at the end."""
    with LocalAnvil(ttl_seconds=1800, seeding=False) as url:
        world = World(url, tmp)
        try:
            yield world
        finally:
            world.server.stop()
