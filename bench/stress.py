"""The test suite under an artificial CPU load, on demand (not in CI): proves the tests wait on conditions,
not on a quiet machine.

    .venv/bin/python bench/stress.py                          # integration suite under 2 busy processes
    .venv/bin/python bench/stress.py --busy 4 -- tests/integration/test_escrow_lifecycle.py
    .venv/bin/python bench/stress.py --busy 0                 # the same selection on a quiet machine
    .venv/bin/python bench/stress.py --ci                     # the whole CI (.ci/run) under 2 busy processes

Each busy process spins on the CPU (niceness 0, like a neighbour's build) and stops itself after --limit
seconds, or when this script ends, whichever is first. The table gives the load, the wall time and pytest's
own counts; the exit code is pytest's.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SPIN = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=2, help="busy processes to run beside the tests (default 2)")
    parser.add_argument("--limit", type=int, default=5400, help="seconds after which a busy process stops itself")
    parser.add_argument("--ci", action="store_true", help="run .ci/run (setup, lint, every test) instead of pytest")
    parser.add_argument("pytest_args", nargs="*", default=["tests/integration"], help="what pytest runs")
    args = parser.parse_args(argv)
    if args.busy < 0:
        parser.error(f"--busy {args.busy}: must be 0 or more")
    if args.ci and args.pytest_args != parser.get_default("pytest_args"):
        parser.error("--ci runs the whole CI; it takes no pytest arguments")
    command = ["bash", ".ci/run"] if args.ci else [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]

    busy = [subprocess.Popen([sys.executable, "-c", SPIN, str(args.limit)]) for _ in range(args.busy)]
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    lines: list[str] = []
    try:
        pytest = subprocess.Popen(
            command if args.ci else [*command, *args.pytest_args],
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for line in pytest.stdout or []:  # progress as it comes
            sys.stdout.write(line)
            lines.append(line.rstrip("\n"))
        returncode = pytest.wait()
        load_after = os.getloadavg()
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    wall = time.monotonic() - started
    counted = [line for line in lines if re.search(r"\d+ (passed|failed)", line)]
    summary = counted[-1] if counted else f"pytest exited {returncode}"

    table = Table(title=(".ci/run" if args.ci else "test suite") + " under artificial CPU load")
    for column in ("busy processes", "cores", "load avg (start → 1/5/15 min at end)", "wall", "pytest"):
        table.add_column(column)
    load = f"{load_before:.1f} → {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f}"
    table.add_row(str(args.busy), str(os.cpu_count()), load, f"{wall / 60:.1f} min", summary.strip("= "))
    Console().print(table)
    return returncode


if __name__ == "__main__":
    sys.exit(main())
