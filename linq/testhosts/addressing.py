"""Addresses for test hosts: one /30 per host out of 198.18.0.0/15 (RFC 2544, benchmark networks).

The /30 is a point-to-point link between the root namespace (.1) and the host's namespace (.2). Nothing is
routed beyond it: the host namespace has no default route and the root namespace forwards nothing for it,
so traffic never leaves the machine. Blocks already on an interface (another run, another test) are skipped;
allocation is serialised with a lock file so two runs starting at once never pick the same block.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCHMARK_RANGE = ipaddress.IPv4Network("198.18.0.0/15")


@dataclass(frozen=True)
class Link:
    network: ipaddress.IPv4Network

    @property
    def root_side(self) -> str:
        return str(self.network.network_address + 1)

    @property
    def host_side(self) -> str:
        return str(self.network.network_address + 2)


def addresses_in_use() -> set[ipaddress.IPv4Address]:
    out = subprocess.run(["ip", "-json", "-4", "addr", "show"], text=True, capture_output=True, check=True).stdout
    used: set[ipaddress.IPv4Address] = set()
    for link in json.loads(out or "[]"):
        for info in link.get("addr_info", []):
            used.add(ipaddress.IPv4Address(info["local"]))
    return used


def free_links(count: int, used: set[ipaddress.IPv4Address]) -> list[Link]:
    """The first `count` /30 blocks of the range with no address in `used`."""
    links: list[Link] = []
    for block in BENCHMARK_RANGE.subnets(new_prefix=30):
        if any(address in block for address in used):
            continue
        links.append(Link(block))
        if len(links) == count:
            return links
    raise RuntimeError(f"no {count} free /30 blocks left in {BENCHMARK_RANGE}: remove stale test hosts")


@contextmanager
def allocation_lock(lock_path: Path) -> Iterator[None]:
    """Held from choosing blocks until they are configured on interfaces (which is what marks them used)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
