"""Stops a devnet when its time to live runs out, so nothing started for a session outlives it."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main() -> None:
    state_dir, deadline = Path(sys.argv[1]), float(sys.argv[2])
    while time.time() < deadline:
        time.sleep(min(30.0, max(0.5, deadline - time.time())))
    from linq.devnet import Devnet

    print(f"TTL reached: stopping the devnet in {state_dir}", flush=True)
    Devnet(state_dir).down()


if __name__ == "__main__":
    main()
