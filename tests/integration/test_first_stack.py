"""The README's "Your first stack", run literally: its commands, in the repository itself, on the test devnet.

No copied project and no rewritten paths: the commands come from the README's code block and run in one
bash script at the repository root, as a newcomer pastes them. Only the devnet differs (LINQ_DEVNET_DIR
points `linq devnet env` at the test devnet). Afterwards `git status --porcelain` is what it was.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess

import pytest

from linq.devnet import Devnet, anvil
from linq.devnet.localprovider import register_local_provider
from linq.tools import locate

pytestmark = pytest.mark.integration
SECTION = "## Your first stack"
MARKER = "::first-stack-step::"


def readme_commands() -> list[str]:
    """The shell lines of the first ```sh block under SECTION, comments stripped."""
    text = (locate.PROJECT_ROOT / "README.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, f"README section {SECTION!r} has no ```sh block"
    lines = [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=locate.PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_readme_commands_shape() -> None:
    commands = readme_commands()
    assert commands[0].startswith("eval ") and "linq devnet env" in commands[0]
    assert "pulumi stack select --create devnet" in commands
    assert any(c.startswith("pulumi up -s devnet") for c in commands)
    assert commands[-1].startswith("pulumi destroy -s devnet")
    assert not any("stack rm" in c for c in commands)  # it deletes the committed settings file


def test_your_first_stack_from_the_readme(devnet: Devnet) -> None:
    # what `linq devnet up` does after starting the parts (the fixture starts the devnet as a library)
    provider = register_local_provider(devnet.state_dir)
    assert provider == anvil.dev_addresses(devnet.state_dir)[anvil.LOCAL_PROVIDER_INDEX]
    before = git_status()

    commands = readme_commands()
    script = "set -euo pipefail\n" + "".join(f"echo {shlex.quote(MARKER + c)}\n{c}\n" for c in commands)
    # a newcomer's shell: no devnet variables, no venv on PATH; only which devnet `linq devnet env` reads
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PULUMI_", "LINQ_")) and key not in ("KUBECONFIG", "VIRTUAL_ENV")
    }
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env["LINQ_DEVNET_DIR"] = str(devnet.state_dir)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=locate.PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"a README command failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    steps = dict(part.split("\n", 1) if "\n" in part else (part, "") for part in done.stdout.split(MARKER)[1:])
    status = json.loads(next(out for cmd, out in steps.items() if cmd.startswith("linq status")))
    chat = next(row for row in status["deployments"] if row["name"] == "chat")
    assert chat["state"] == "Running" and status["healthy"] is True, chat
    assert chat["provider"].lower() == provider.lower(), chat
    assert chat["escrow"] is not None, chat
    # Outputs that are not secrets are not marked secret (the app's Secret objects made `state` and `endpoint`
    # print as [secret]): the real engine's `pulumi stack output`.
    outputs = next(out for cmd, out in steps.items() if cmd.startswith("pulumi stack output"))
    assert "[secret]" not in outputs, outputs
    shown = json.loads(outputs)["chat"]
    assert shown["state"] == "Running" and shown["endpoint"] == chat["endpoint"], shown
    assert shown["escrow"]["id"] and shown["namespace"] and shown["provider"].lower() == provider.lower(), shown
    preview = next(out for cmd, out in steps.items() if cmd.startswith("pulumi preview"))
    assert "to create" in preview, preview[-2000:]
    destroy = next(out for cmd, out in steps.items() if cmd.startswith("pulumi destroy"))
    assert "deleted" in destroy, destroy[-2000:]

    assert git_status() == before, "following the README changed the repository"


def test_dev_account_from_the_environment_with_devnet_dir(devnet: Devnet) -> None:
    """`LINQ_DEV_ACCOUNT=1 linq provider … --devnet-dir` signs as dev account 1; with a different
    $LINQ_PRIVATE_KEY as well, it is refused naming both (never a silent override)."""
    register_local_provider(devnet.state_dir)
    linq = str(locate.PROJECT_ROOT / ".venv" / "bin" / "linq")
    env = {key: value for key, value in os.environ.items() if not key.startswith("LINQ_")}
    argv = [linq, "provider", "show", "--devnet-dir", str(devnet.state_dir), "--json"]
    dev1 = anvil.dev_addresses(devnet.state_dir)[anvil.LOCAL_PROVIDER_INDEX]

    shown = subprocess.run(
        argv, env={**env, "LINQ_DEV_ACCOUNT": "1"}, capture_output=True, text=True, timeout=120, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert dev1.lower() in shown.stdout.lower()

    other_key = anvil.dev_keys(devnet.state_dir)[5]
    both = subprocess.run(
        argv,
        env={**env, "LINQ_DEV_ACCOUNT": "1", "LINQ_PRIVATE_KEY": other_key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert both.returncode != 0
    for named in ("$LINQ_DEV_ACCOUNT=1", "$LINQ_PRIVATE_KEY", dev1):
        assert named in both.stderr, both.stderr
    assert other_key.removeprefix("0x") not in both.stderr + both.stdout
