"""Session fixtures: one real devnet (anvil, contracts, Kubernetes control plane, Pulumi backend) shared by
the integration tests, started on first use and stopped at the end.

No skips: a missing tool or a part that will not start fails the run with the reason (CI or not), because
the README's test command runs `make setup` first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from linq.devnet import Devnet
from linq.devnet.kube import NodeSpec
from tests.faultsite import linq_fault_hooks
from tests.integration import forge_run

linq_fault_hooks.install()  # test-only fault injection at linq's checkpoints (inert unless its variables are set)

# Node sizes chosen so quota and capacity tests have real limits to hit.
TEST_NODES = [
    NodeSpec(name="lp-node-0", cpu_millis=8_000, memory_mib=32_768, region="local"),
    NodeSpec(name="lp-gpu-0", cpu_millis=16_000, memory_mib=65_536, gpus=2, gpu_model="nvidia-a100", region="local"),
]


@pytest.fixture(scope="session")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    net = Devnet(tmp_path_factory.mktemp("devnet"))
    # TTL: if pytest is killed, the devnet still stops itself.
    net.up(nodes=TEST_NODES, ttl_seconds=int(os.environ.get("LINQ_TEST_DEVNET_TTL", "5400")))
    try:
        yield net
    finally:
        net.down()


@pytest.fixture(scope="session")
def rpc_url(devnet: Devnet) -> str:
    return devnet.read()[1].rpc_url


@pytest.fixture(scope="session")
def kubeconfig(devnet: Devnet) -> Path:
    return devnet.kubeconfig


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed Pulumi command puts its diagnostics first: the engine's error lines and stderr, ahead of the
    long traceback through the Automation API (CI logs are read from the top)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.passed or call.excinfo is None:
        return
    from pulumi.automation.errors import CommandError

    error = call.excinfo.value
    if not isinstance(error, CommandError):
        return
    text = str(error)
    stdout, _, stderr = text.partition(" stderr: ")
    lines = [line.rstrip() for line in stdout.splitlines()]
    important = [line for line in lines if "error" in line.lower() or "failed" in line.lower()]
    diagnostics = lines[lines.index("Diagnostics:") :] if "Diagnostics:" in lines else []
    summary = [
        "Pulumi command failed; its errors first:",
        *important[:40],
        *diagnostics[:60],
        "stderr:",
        *stderr.strip().splitlines()[-40:],
        "",
        "full report:",
    ]
    report.longrepr = "\n".join(summary) + "\n" + str(report.longrepr)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the forge suite in the background as soon as it is selected: it is CPU work that overlaps well
    with the integration tests, which mostly wait on servers (tests/integration/forge_run.py). The test that
    waits for it runs last, so the overlap is the whole session, not the files before it alphabetically."""
    waiting = [item for item in items if item.name == forge_run.FORGE_TEST]
    if waiting:
        config.stash[forge_run.FORGE_RUN] = forge_run.start()
        items[:] = [item for item in items if item.name != forge_run.FORGE_TEST] + waiting


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(forge_run.FORGE_RUN, None)
    if run is not None:
        run.stop()  # an interrupted session leaves no forge behind
