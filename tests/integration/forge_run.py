"""The forge suite as a background job: started when the session collects the forge test, so its minutes of
fuzzing run beside the integration tests (which mostly wait on servers) instead of after them; the test then
waits for it and checks its output."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from linq.contracts import build
from linq.tools.locate import require

TIMEOUT = 3600
FORGE_TEST = "test_forge_suite_passes_and_tests_the_shipped_bytecode"


@dataclass
class ForgeRun:
    proc: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def wait(self) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) once forge ends; kills it after TIMEOUT seconds in all."""
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        return code, self.stdout.read_text(errors="replace"), self.stderr.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


FORGE_RUN = pytest.StashKey["ForgeRun"]()


def start() -> ForgeRun:
    profile = os.environ.get("LINQ_FORGE_PROFILE", "default")
    env = {**os.environ, "FOUNDRY_PROFILE": profile, "NO_COLOR": "1"}
    folder = Path(tempfile.mkdtemp(prefix="linq-forge-"))
    out, err = folder / "stdout", folder / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [str(require("forge")), "test"], cwd=build.CONTRACTS_DIR, env=env, stdout=stdout, stderr=stderr
        )
    return ForgeRun(proc, out, err)
