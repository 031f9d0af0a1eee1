"""Playbooks run from a process that has run Pulumi engines (the tests, ProviderCluster, the demo) are safe from
the parent's gRPC state: ansible-runner forks, and a fork of a process holding gRPC's poller used to kill the
child before Ansible started ("epoll_wait error: Bad file descriptor", rc -1; a CI failure). `run_playbook`
now runs the runner in a fresh interpreter; these tests alternate real gRPC work and real playbook runs."""

from __future__ import annotations

import uuid
from concurrent import futures
from pathlib import Path

import grpc
import pulumi

from linq.devnet import Devnet
from linq.engine import inline_stack
from linq.testhosts.playbook import run_playbook

LOCAL = Path(__file__).parent / "playbooks"


def _assert_ran(round_: int) -> None:
    run = run_playbook("local.yml", Path("localhost,"), project_dir=LOCAL, timeout=120)
    assert run.ok, f"round {round_}: {run.describe()}"
    assert run.stats.get("ok", {}).get("localhost") == 2, run.describe()


def test_playbooks_after_live_grpc_servers_and_channels_many_times() -> None:
    """10 rounds, each with a gRPC server and channel alive in this process while the playbook runs (before the
    fix, about 1 in 20 such runs died under load)."""
    for round_ in range(10):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        try:
            _assert_ran(round_)
        finally:
            channel.close()
            server.stop(0)


def test_playbooks_after_pulumi_programs_in_one_process(devnet: Devnet, tmp_path: Path) -> None:
    """Real Pulumi engines (inline programs, so the SDK's gRPC runs in this process), each followed by playbooks."""
    stack = inline_stack(
        devnet,
        project="forksafety",
        stack=f"f{uuid.uuid4().hex[:8]}",
        program=lambda: pulumi.export("round", "x"),
        work_dir=tmp_path,
    )
    try:
        for round_ in range(2):
            result = stack.up(on_output=lambda _line: None)
            assert result.outputs["round"].value == "x"
            for again in range(3):
                _assert_ran(round_ * 10 + again)
    finally:
        stack.destroy(on_output=lambda _line: None)
        stack.workspace.remove_stack(stack.name)
