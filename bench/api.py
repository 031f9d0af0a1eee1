"""The Blockchain API under load: requests/s and p99 latency of the read endpoints at 1, 10 and 50 concurrent
clients, with the registry at 10,000 providers.

    .venv/bin/python bench/api.py                         # 10,000 providers, 5 s per cell
    .venv/bin/python bench/api.py --providers 1000 --seconds 3

A fresh anvil (linq.devnet.anvil.LocalAnvil) with the contracts, N providers registered as bench/match.py does
(linq.devnet.seed: a quarter with GPU classes), then `linq api serve` as its own process (no rate limit; the
index refreshed from chain events at most every 2 s, the default). Each client is a thread with one
keep-alive HTTP connection sending requests back to back for --seconds; the server and the clients share the
machine. Endpoints:
    registry list   GET /api/v1/registry/providers (a page of 100 rows)
    estimate        GET /api/v1/estimate?cpu=2&memory=4Gi&storage=20Gi&duration=24h   (best of N, exact wei)
    match           GET /api/v1/match?...&region=eu&limit=10   (10 ranked; the first 100 rejected with every
                    reason, and the count of rejections per reason)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from rich.console import Console
from rich.table import Table
from web3 import Web3

from linq.chain.deploy import deploy_all
from linq.contracts import contract
from linq.devnet.anvil import LocalAnvil
from linq.devnet.process import free_port
from linq.devnet.seed import random_specs, seed_registry

ANVIL_KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public dev key
REQ = "cpu=2&memory=4Gi&storage=20Gi&duration=24h"
ENDPOINTS = {
    "registry list (page of 100)": "/api/v1/registry/providers?limit=100",
    "estimate": f"/api/v1/estimate?{REQ}",
    "match (10 ranked, 100 rejected)": f"/api/v1/match?{REQ}&region=eu&limit=10",
}


def start_api(url: str, book: Path, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    linq = str(Path(sys.executable).with_name("linq"))
    argv = [linq, "api", "serve", "--rpc", url, "--addresses", str(book), "--keys", str(tmp / "keys.sqlite")]
    argv += ["--port", str(port), "--rate", "0", "--index", str(tmp / "index.json")]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=(tmp / "api.log").open("wb"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"linq api serve did not come up; see {tmp / 'api.log'}")


def get(port: int, path: str, timeout: float = 600) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path)
    response = conn.getresponse()
    body = json.loads(response.read())
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status} {body}")
    return body


def load(port: int, path: str, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    size = [0]
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        start.wait()
        while time.perf_counter() < stop_at[0]:
            t0 = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            data = response.read()
            latencies[i].append(time.perf_counter() - t0)
            size[0] = len(data)
            if response.status != 200:
                errors[i] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    flat = sorted(x for per in latencies for x in per)
    p99 = flat[min(len(flat) - 1, int(len(flat) * 0.99))] if flat else float("nan")
    return {
        "rps": len(flat) / elapsed,
        "p50": statistics.median(flat) if flat else float("nan"),
        "p99": p99,
        "n": len(flat),
        "errors": sum(errors),
        "kb": size[0] / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=10_000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--seconds", type=float, default=5.0, help="load per cell")
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 120))
    with LocalAnvil(ttl_seconds=3600) as url, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 300}))
        book = deploy_all(w3, Account.from_key(ANVIL_KEY0), lnq_supply=10**27, fund={}, min_prepaid_seconds=600)
        (tmp / "addresses.json").write_text(book.model_dump_json())
        console.print(f"[dim]registering {args.providers:,} providers on a fresh anvil…[/dim]")
        seed_registry(url, contract(w3, "ProviderRegistry", book.registry), random_specs(args.providers, seed=7))
        proc, port = start_api(url, tmp / "addresses.json", tmp)
        try:
            t0 = time.perf_counter()
            listed = get(port, "/api/v1/registry/providers?limit=1")
            first = time.perf_counter() - t0
            assert listed["total"] == args.providers, listed["total"]
            console.print(f"[dim]first request (index build from chain): {first:.1f} s[/dim]")
            rows = []
            for name, path in ENDPOINTS.items():
                get(port, path)  # warm
                for clients in args.clients:
                    rows.append((name, clients, load(port, path, clients, args.seconds)))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    table = Table(title=f"linq api: {args.providers:,} providers, {args.seconds:g} s per cell, {os.cpu_count()} CPUs")
    for col in ("endpoint", "clients", "requests/s", "p50 ms", "p99 ms", "requests", "errors", "response KiB"):
        table.add_column(col, justify="right" if col != "endpoint" else "left")
    for name, clients, r in rows:
        table.add_row(
            name,
            str(clients),
            f"{r['rps']:.0f}",
            f"{r['p50'] * 1000:.1f}",
            f"{r['p99'] * 1000:.1f}",
            str(r["n"]),
            str(r["errors"]),
            f"{r['kb']:.0f}",
        )
    console.print(table)
    console.print(f"1-min load average at the end: {os.getloadavg()[0]:.1f}")
    return 1 if any(r["errors"] for _, _, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
