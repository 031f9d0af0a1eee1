"""The Solidity suite (unit, fuzz, invariant) through forge, offline via the solc-js adapter.

LINQ_FORGE_PROFILE=ci selects the thorough profile (1000 fuzz runs, 1000 x 100 invariant calls; ~15 min on
two cores); the default profile takes about a minute, most of it compiling.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from linq.contracts import build
from linq.contracts.artifacts import CONTRACT_NAMES, load_artifact
from linq.tools.locate import require

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_forge_suite_passes_and_tests_the_shipped_bytecode() -> None:
    profile = os.environ.get("LINQ_FORGE_PROFILE", "default")
    env = {**os.environ, "FOUNDRY_PROFILE": profile, "NO_COLOR": "1"}
    proc = subprocess.run(
        [str(require("forge")), "test"],
        cwd=build.CONTRACTS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    summary = re.search(r"(\d+) tests passed, (\d+) failed, (\d+) skipped", proc.stdout)
    assert proc.returncode == 0 and summary, proc.stdout[-4000:] + proc.stderr[-2000:]
    passed, failed = int(summary.group(1)), int(summary.group(2))
    assert failed == 0 and passed >= 50, summary.group(0)
    assert "invariant_conservation" in proc.stdout
    # forge compiled with the same settings as linq.contracts.build: the tests ran the bytecode we ship
    for name in CONTRACT_NAMES:
        forge_out = json.loads((build.CONTRACTS_DIR / "out" / f"{name}.sol" / f"{name}.json").read_text())
        assert forge_out["deployedBytecode"]["object"] == load_artifact(name).deployed_bytecode, name
