"""Gas of every escrow and registry operation on a fresh anvil, next to the targets and anchors.

    .venv/bin/python bench/gas.py [--json]

Figures are receipt gasUsed ("tx"); "exec" = tx - 21,000 - calldata (4 per zero byte, 16 per other byte).
"first" runs touch storage for the first time (e.g. the escrow's first LNQ balance, a fresh nonce word);
"steady" runs repeat the operation when those slots already exist, which is what a live market sees.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from linq.chain.deploy import deploy_all, send_tx
from linq.contracts import contract
from linq.contracts.terms import Resources, Terms, encode_region, permit_signature
from linq.devnet.localchain import anvil_chain, fund_eth, increase_time
from linq.gateway.meta import GatewayInfo
from linq.market.offers import Offer

ZERO = "0x0000000000000000000000000000000000000000"
MAX_UINT = 2**256 - 1
# wei per milli-hour, MiB-hour, GiB-hour: about 0.01 LNQ per vCPU-hour and 0.005 LNQ per GiB-hour
PRICES = (10**13, 4_882_812_500_000, 10**13)
CAPACITY = (64_000, 262_144, 4_000)
RES = Resources(cpu_millis=1000, memory_mib=2048, storage_gib=10)

# (target tx gas, anchor text) per operation label prefix
TARGETS: dict[str, tuple[int | None, str]] = {
    "register": (120_000, "-"),
    "create+fund": (85_000, "Sablier Flow create+deposit ≈ 170,000"),
    "createFromOffer": (85_000, "Flow ≈ 170,000; reference target ≤ 95,000"),
    "createWithPermit": (None, "reference target ≤ 125,000"),
    "start": (35_000, "-"),
    "topUp": (50_000, "Flow deposit ≈ 55,000"),
    "withdraw": (50_000, "Flow withdraw ≈ 61,000"),
    "withdrawMany": (None, "reference target ≤ 9,000 per escrow"),
    "stop": (70_000, "Lockup cancel ≈ 87,000"),
    "finalize": (70_000, "Lockup cancel ≈ 87,000"),
    "cancel": (None, "-"),
    "changeProvider": (None, "-"),
    "publishMeta": (None, "gateway URL + TLS pin document (linq.gateway.meta)"),
}


@dataclass
class Row:
    op: str
    gas: int
    calldata: int

    @property
    def exec_gas(self) -> int:
        return self.gas - 21_000 - self.calldata


def calldata_gas(data: bytes) -> int:
    return sum(4 if b == 0 else 16 for b in data)


class Bench:
    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.rows: list[Row] = []
        self.accounts: dict[str, LocalAccount] = {}
        for name in ("deployer", "p1", "p2", "r1", "r2", "anyone"):
            acct = Account.create()
            fund_eth(w3, acct.address)
            self.accounts[name] = acct
        a = self.accounts
        fund = {a[n].address: 10**24 for n in ("r1", "r2", "anyone")}
        self.book = deploy_all(w3, a["deployer"], lnq_supply=10**27, fund=fund, min_prepaid_seconds=600)
        self.lnq = contract(w3, "LNQ", self.book.lnq)
        self.registry = contract(w3, "ProviderRegistry", self.book.registry)
        self.escrow = contract(w3, "Escrow", self.book.escrow)
        self.salt = 0

    def tx(self, who: str, call: Any, label: str | None = None) -> Any:
        receipt = send_tx(self.w3, self.accounts[who], call, gas=2_000_000)
        if label:
            data = self.w3.eth.get_transaction(receipt["transactionHash"])["input"]
            self.rows.append(Row(label, int(receipt["gasUsed"]), calldata_gas(bytes(data))))
        return receipt

    def next_salt(self) -> bytes:
        # Real salts are hashes (of a Pulumi URN): 32 non-zero-ish bytes, priced as such in calldata.
        self.salt += 1
        return Web3.keccak(text=f"urn:pulumi:bench::app-{self.salt}")

    def rate(self, provider: str) -> int:
        return int(self.registry.functions.quote(self.accounts[provider].address, RES.as_tuple()).call())

    def create(self, who: str, provider: str, deposit: int, label: str | None = None) -> Terms:
        rate = self.rate(provider)
        salt = self.next_salt()
        provider_address = self.accounts[provider].address
        call = self.escrow.functions.create(provider_address, RES.as_tuple(), deposit, rate, salt)
        self.tx(who, call, label)
        return Terms(self.accounts[who].address, self.accounts[provider].address, RES, rate, salt)

    def offer(self, who: str, provider: str, nonce: int, deposit: int, label: str) -> Terms:
        rate = 2 * 10**16
        offer = Offer(
            provider=self.accounts[provider].address,
            requestor=ZERO,
            resources=RES,
            rate_per_hour=rate,
            min_duration=600,
            max_duration=10**9,
            nonce=nonce,
            deadline=2**40,
        )
        sig = offer.sign(self.accounts[provider].key, self.book.chain_id, self.book.escrow)
        salt = self.next_salt()
        self.tx(who, self.escrow.functions.createFromOffer(offer.as_tuple(), sig, deposit, salt), label)
        return Terms(self.accounts[who].address, offer.provider, RES, rate, salt)

    def run(self) -> None:
        a, esc = self.accounts, self.escrow.functions
        region, meta = encode_region("eu-west"), b"\x11" * 32
        for i, p in enumerate(("p1", "p2")):
            label = "register (first provider)" if i == 0 else "register (steady)"
            self.tx(p, self.registry.functions.register(CAPACITY, PRICES, region, meta), label)
        doc = GatewayInfo(url="https://gateway.provider-one.example:8443", tls_spki_sha256="ab" * 32).document()
        self.tx("p1", self.registry.functions.publishMeta(doc), f"publishMeta ({len(doc)}-byte gateway document)")
        for r in ("r1", "r2", "anyone"):
            self.tx(r, self.lnq.functions.approve(self.book.escrow, MAX_UINT))
        day = self.rate("p1") * 24
        e1 = self.create("r1", "p1", day, "create+fund registry path (first escrow)")
        e2 = self.create("r1", "p1", day, "create+fund registry path (steady)")
        # permit path: r2 revokes its approval so the permit is what pays
        self.tx("r2", self.lnq.functions.approve(self.book.escrow, 0))
        nonce = self.lnq.functions.nonces(a["r2"].address).call()
        permit = permit_signature(
            a["r2"].key,
            chain_id=self.book.chain_id,
            token=self.book.lnq,
            owner=a["r2"].address,
            spender=self.book.escrow,
            value=day,
            nonce=nonce,
            deadline=2**40,
        )
        rate = self.rate("p1")
        call = esc.createWithPermit(a["p1"].address, RES.as_tuple(), day, rate, self.next_salt(), permit)
        self.tx("r2", call, "createWithPermit (exact permit)")
        self.offer("r1", "p1", 0, 2 * 10**16 * 24, "createFromOffer (fresh nonce word)")
        o2 = self.offer("r1", "p1", 1, 2 * 10**16 * 24, "createFromOffer (steady)")
        self.tx("p1", esc.start(e1.as_tuple()), "start")
        self.tx("p1", esc.start(e2.as_tuple()))
        self.tx("p1", esc.start(o2.as_tuple()))
        self.tx("anyone", esc.topUp(e1.as_tuple(), day), "topUp (third party)")
        self.tx("r1", esc.topUp(e1.as_tuple(), day), "topUp (requestor)")
        increase_time(self.w3, 3600)
        self.tx("p1", esc.withdraw(e1.as_tuple()), "withdraw (provider's first LNQ)")
        increase_time(self.w3, 3600)
        self.tx("anyone", esc.withdraw(e1.as_tuple()), "withdraw (steady)")
        # withdrawMany: one escrow vs five, same state shape
        batch = [self.create("r1", "p1", day) for _ in range(5)]
        for t in batch:
            self.tx("p1", esc.start(t.as_tuple()))
        increase_time(self.w3, 600)
        for t in batch:
            self.tx("p1", esc.withdraw(t.as_tuple()))
        increase_time(self.w3, 600)
        g1 = self.tx("p1", esc.withdrawMany([batch[0].as_tuple()]))["gasUsed"]
        g5 = self.tx("p1", esc.withdrawMany([t.as_tuple() for t in batch]))["gasUsed"]
        self.rows.append(Row("withdrawMany (1 escrow)", int(g1), 0))
        self.rows.append(Row("withdrawMany (per extra escrow)", (int(g5) - int(g1)) // 4, 0))
        self.tx("r1", esc.stop(e2.as_tuple()), "stop (provider's first reputation write)")
        s2 = self.create("r1", "p1", day)
        self.tx("p1", esc.start(s2.as_tuple()))
        increase_time(self.w3, 600)
        self.tx("r1", esc.stop(s2.as_tuple()), "stop (steady)")
        c = self.create("r1", "p1", day)
        self.tx("r1", esc.cancel(c.as_tuple()), "cancel")
        m = self.create("r1", "p1", day)
        call = esc.changeProvider(m.as_tuple(), a["p2"].address, self.rate("p2"))
        self.tx("r1", call, "changeProvider")
        short = self.create("r1", "p1", self.rate("p1") // 6 + 1)  # ~10 minutes
        self.tx("p1", esc.start(short.as_tuple()))
        increase_time(self.w3, 1200)
        self.tx("anyone", esc.finalize(short.as_tuple()), "finalize (third party, nothing withdrawn)")
        increase_time(self.w3, 48 * 3600)
        self.tx("anyone", esc.finalize(o2.as_tuple()), "finalize (steady)")
        self.tx("p1", self.registry.functions.updateBaseRanges(PRICES), "updateBaseRanges")


def target_for(op: str) -> tuple[int | None, str]:
    """The target of the longest matching operation prefix."""
    matches = [prefix for prefix in TARGETS if op.startswith(prefix)]
    return TARGETS[max(matches, key=len)] if matches else (None, "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Gas of the LinqProtocol contracts on a fresh anvil")
    parser.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    args = parser.parse_args(argv)
    with anvil_chain() as w3:
        bench = Bench(w3)
        bench.run()
    if args.json:
        rows = [{"op": r.op, "gas": r.gas, "exec": r.exec_gas, "target": target_for(r.op)[0]} for r in bench.rows]
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'operation':46} {'tx gas':>9} {'exec':>8} {'target':>9}  {'':4} anchor")
    misses = 0
    for r in bench.rows:
        target, anchor = target_for(r.op)
        verdict = "" if target is None else ("ok" if r.gas <= target else "MISS")
        misses += verdict == "MISS"
        exec_text = f"{r.exec_gas:>8,}" if r.calldata else f"{'':>8}"
        target_text = f"{target:>9,}" if target else f"{'-':>9}"
        print(f"{r.op:46} {r.gas:>9,} {exec_text} {target_text}  {verdict:4} {anchor}")
    print(f"\n{misses} operation(s) above target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
