"""Fault injection is test-only: shipped code's checkpoints do nothing, whatever the environment says;
the tests' hook (tests/faultsite) still kills a process or runs a command at a named step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.faultsite.linq_fault_hooks import ENV_KILL_AT, ENV_RUN_AT, fault_env

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = "from linq.checkpoints import checkpoint; checkpoint('create:after-send'); print('survived')"


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_shipped_checkpoints_ignore_the_fault_variables(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env[ENV_KILL_AT] = "create:after-send"
    env[ENV_RUN_AT] = f'{{"create:after-send": ["touch", "{marker}"]}}'
    result = _run(env)
    assert result.returncode == 0 and "survived" in result.stdout, result.stderr
    assert not marker.exists()


def test_the_test_hook_kills_and_runs_at_a_step(tmp_path: Path) -> None:
    base = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's linq, as the processes tests start use
    killed = _run(fault_env(base, kill_at="create:after-send"))
    assert killed.returncode == -9 and "survived" not in killed.stdout
    marker = tmp_path / "ran"
    ran = _run(fault_env(base, run_at=f'{{"create:after-send": ["touch", "{marker}"]}}'))
    assert ran.returncode == 0 and marker.exists()


def test_no_shipped_module_reads_the_fault_variables() -> None:
    for package in ("linq", "components"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            assert ENV_KILL_AT not in text and ENV_RUN_AT not in text, path
