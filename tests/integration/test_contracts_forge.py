"""The Solidity suite (unit, fuzz, invariant) through forge, offline via the solc-js adapter.

LINQ_FORGE_PROFILE=ci selects the thorough profile (1000 fuzz runs, 1000 x 100 invariant calls; ~15 min on
two cores); the default profile takes about a minute, most of it compiling.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from linq.contracts import build
from linq.contracts.artifacts import CONTRACT_NAMES, load_artifact
from tests.integration import forge_run
from tests.integration.forge_run import FORGE_RUN

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_forge_suite_passes_and_tests_the_shipped_bytecode(request: pytest.FixtureRequest) -> None:
    # Started in the background when the session collected this test (tests/conftest.py); else start it now.
    run = request.config.stash.get(FORGE_RUN, None) or forge_run.start()
    code, stdout, stderr = run.wait()
    proc = subprocess.CompletedProcess(args=["forge", "test"], returncode=code, stdout=stdout, stderr=stderr)
    summary = re.search(r"(\d+) tests passed, (\d+) failed, (\d+) skipped", proc.stdout)
    assert proc.returncode == 0 and summary, proc.stdout[-4000:] + proc.stderr[-2000:]
    passed, failed = int(summary.group(1)), int(summary.group(2))
    assert failed == 0 and passed >= 50, summary.group(0)
    assert "invariant_conservation" in proc.stdout
    # forge compiled with the same settings as linq.contracts.build: the tests ran the bytecode we ship
    for name in CONTRACT_NAMES:
        forge_out = json.loads((build.CONTRACTS_DIR / "out" / f"{name}.sol" / f"{name}.json").read_text())
        assert forge_out["deployedBytecode"]["object"] == load_artifact(name).deployed_bytecode, name
