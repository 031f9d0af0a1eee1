"""Lease creation through the provider gateway against the floor: an admin `kubectl apply` of the same bundle.

    .venv/bin/python bench/gateway.py                          # 1, 10 and 50 concurrent requestors, fresh devnet
    .venv/bin/python bench/gateway.py --devnet-dir .linq/devnet   # reuse a running devnet (its gateway)

Each requestor is a fresh wallet with its own funded escrow at the devnet's local provider (set up before the
clock starts). A lease is what `pulumi up` does for a deployment: `obtain_lease` reads the provider's gateway
and pin from the chain, signs a fresh EIP-712 request and sends it over pinned TLS; the devnet's real gateway
process verifies on chain, consumes the nonce in the cluster, starts the escrow (first lease only: one
transaction, serialised per provider key), server-side applies the bundle and mints a TokenRequest token.
"first" is that first lease; "renew" is a second lease of the same escrow (already Active: no transaction).
The floor is the same bundle (a fresh escrow id, so new objects) applied by `kubectl apply --server-side`
with the admin kubeconfig, at the same concurrency. Latency p50/p99 per request; throughput = requests /
wall time of the round. The load average is printed with the table (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linq.agent import devnet as lab  # noqa: E402
from linq.catalog.spec import RenderOptions  # noqa: E402
from linq.chain import ChainClient  # noqa: E402
from linq.chain.signers import from_dev_account  # noqa: E402
from linq.contracts.terms import Resources, Terms  # noqa: E402
from linq.devnet import Devnet, anvil  # noqa: E402
from linq.devnet.accounts import deployer, fresh_wallet  # noqa: E402
from linq.devnet.kube import NodeSpec  # noqa: E402
from linq.gateway import bundle  # noqa: E402
from linq.gateway.client import gateway_of, obtain_lease  # noqa: E402

RES = Resources(cpu_millis=500, memory_mib=512, storage_gib=1)
LEVELS = (1, 10, 50)
SAMPLES_AT_ONE = 10  # sequential samples for concurrency 1


@dataclass
class Tenant:
    client: ChainClient
    terms: Terms

    @property
    def escrow_id(self) -> str:
        return "0x" + self.terms.escrow_id.hex()


@dataclass
class Round:
    latencies: list[float]
    wall: float

    def row(self) -> tuple[float, float, float]:
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return statistics.median(ordered) * 1000, p99 * 1000, len(ordered) / self.wall


def tenants(bank: ChainClient, provider: str, n: int) -> list[Tenant]:
    out = []
    for _ in range(n):
        _, signer = fresh_wallet(bank)
        client = ChainClient(bank.profile, signer)
        out.append(Tenant(client, lab.fund_escrow(client, provider, seconds=24 * 3600, resources=RES)))
    return out


def timed_parallel(jobs: list, width: int) -> Round:
    def one(job) -> float:
        started = time.perf_counter()
        job()
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=width) as pool:
        latencies = list(pool.map(one, jobs))
    return Round(latencies, time.perf_counter() - started)


def leases(group: list[Tenant], provider: str, width: int) -> Round:
    return timed_parallel([lambda t=t: obtain_lease(t.client, t.escrow_id, provider) for t in group], width)


def floor(group: list[Tenant], kubeconfig: Path, width: int) -> Round:
    def apply(terms: Terms) -> None:
        objects = bundle.objects(replace(terms, salt=os.urandom(32)), RenderOptions())  # a fresh escrow id: new objects
        subprocess.run(
            [
                "kubectl",
                "--kubeconfig",
                str(kubeconfig),
                "apply",
                "--server-side",
                "--field-manager=linq-bench",
                "-f",
                "-",
            ],
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}),
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )

    return timed_parallel([lambda t=t: apply(t.terms) for t in group], width)


def merge(rounds: list[Round]) -> Round:
    return Round([x for r in rounds for x in r.latencies], sum(r.wall for r in rounds))


def run(devnet: Devnet) -> dict[str, dict[int, tuple[float, float, float]]]:
    bank = deployer(devnet.state_dir)
    provider = from_dev_account(devnet.state_dir, anvil.LOCAL_PROVIDER_INDEX).address
    print(f"gateway of {provider}: {gateway_of(bank, provider).url}", flush=True)
    table: dict[str, dict[int, tuple[float, float, float]]] = {"first": {}, "renew": {}, "floor": {}}
    for width in LEVELS:
        n = SAMPLES_AT_ONE if width == 1 else width
        print(f"setting up {n} requestors with funded escrows…", flush=True)
        group = tenants(bank, provider, n)
        chunks = [group[i : i + width] for i in range(0, n, width)]
        table["floor"][width] = merge([floor(c, devnet.kubeconfig, width) for c in chunks]).row()
        table["first"][width] = merge([leases(c, provider, width) for c in chunks]).row()
        table["renew"][width] = merge([leases(c, provider, width) for c in chunks]).row()
        print(f"  concurrency {width}: done", flush=True)
    return table


def render(table: dict[str, dict[int, tuple[float, float, float]]]) -> str:
    lines = [
        "| concurrent requestors | first lease p50 / p99 (ms) | lease/s | renew p50 / p99 (ms) | lease/s "
        "| floor: admin kubectl apply p50 / p99 (ms) | bundles/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for width in LEVELS:
        cells = []
        for what in ("first", "renew", "floor"):
            p50, p99, rate = table[what][width]
            cells += [f"{p50:,.0f} / {p99:,.0f}", f"{rate:.1f}"]
        lines.append(f"| {width} | " + " | ".join(cells) + " |")
    load = os.getloadavg()
    lines.append(
        f"\nload average during the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} ({os.cpu_count()} cores)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devnet-dir", type=Path, help="a running devnet to use (default: start one)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lqgw-") as tmp:
        own = args.devnet_dir is None
        devnet = Devnet(Path(tmp) / "d") if own else Devnet(args.devnet_dir)
        if own:
            print("starting a devnet (anvil, contracts, control plane, the local provider's gateway)…", flush=True)
            devnet.up(nodes=[NodeSpec(cpu_millis=64_000, memory_mib=262_144)], real_node=False, ttl_seconds=3600)
        try:
            table = run(devnet)
        finally:
            if own:
                devnet.down()
    print(render(table))
    if args.json:
        print(json.dumps({k: {str(w): v for w, v in rows.items()} for k, rows in table.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
