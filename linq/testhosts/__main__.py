"""`python -m linq.testhosts N [--servers K]`: start N SSH test hosts, print the inventory, wait for Ctrl-C.

For demos and for poking at the playbooks by hand:
    ansible-playbook -i <printed inventory> playbooks/site.yml -e lpstack_apply_kernel_changes=false ...
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from linq.testhosts import TestHostError, missing_requirements, test_hosts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linq.testhosts", description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=2, help="number of hosts (default 2)")
    parser.add_argument("--servers", type=int, default=1, help="how many of them are k3s servers (default 1)")
    args = parser.parse_args(argv)
    if not 1 <= args.servers <= args.count:
        parser.error(f"--servers {args.servers}: must be between 1 and count={args.count}")
    reasons = missing_requirements()
    if reasons:
        print("cannot start test hosts:\n  " + "\n  ".join(reasons), file=sys.stderr)
        return 2
    groups = {"servers": list(range(args.servers)), "agents": list(range(args.servers, args.count))}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with test_hosts(args.count, groups=groups) as hosts:
            for host in hosts:
                print(f"{host.name}  {host.user}@{host.address}:{host.port}  key={host.key_path}")
            print(f"inventory: {hosts.inventory}\nCtrl-C to stop and remove them.", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
    except TestHostError as error:
        print(f"test hosts: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
