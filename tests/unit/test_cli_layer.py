"""One CLI layer: one exit-code table (the code's and docs/cli.md's agree), the shared options declared once,
an unreachable network exiting 3 from every command family, and the command tree composed in one place."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from linq.chain.errors import InputError, NetworkConfigError, RpcUnavailable, SignerError, TxReverted
from linq.cli import main
from linq.cli.errors import EXIT_CODES, exit_code_for
from linq.monitor.errors import SourceUnavailable
from linq.units import UnitError

ROOT = Path(__file__).resolve().parents[2]
DEAD_RPC = "http://127.0.0.1:9"


def test_the_table_maps_each_kind_of_error() -> None:
    assert exit_code_for(TxReverted("create", "a reason")) == 1
    assert exit_code_for(InputError("f", 1, "is bad", "fix it")) == 2
    assert exit_code_for(UnitError("f", "1000", "is ambiguous", "write a unit")) == 2
    for unreachable in (RpcUnavailable("x"), NetworkConfigError("x"), SourceUnavailable("x")):
        assert exit_code_for(unreachable) == 3, unreachable  # the chain, or a monitor command's source
    assert exit_code_for(SignerError("x")) == 4
    assert exit_code_for(RuntimeError("a bug")) is None  # not a user error: a traceback, not a code


def test_the_table_is_documented_once_and_matches() -> None:
    doc = (ROOT / "docs/cli.md").read_text()
    rows = {
        int(line.split("|")[1]): line
        for line in doc.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip().isdigit()
    }
    for _module, name, code in EXIT_CODES:
        assert f"`{name}`" in rows[code], (name, code)
    header = next(line for line in doc.splitlines() if line.startswith("| code |"))
    others = [p for p in (ROOT / "docs").glob("*.md") if p.name != "cli.md" and header in p.read_text()]
    assert others == []  # no second exit-code table


@pytest.fixture()
def book(tmp_path: Path) -> Path:
    path = tmp_path / "book.json"
    path.write_text(
        json.dumps(
            {
                "chain_id": 31337,
                "lnq": "0x" + "11" * 20,
                "registry": "0x" + "22" * 20,
                "escrow": "0x" + "33" * 20,
                "deployed_block": 0,
            }
        )
    )
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["escrow", "status", "0x" + "ab" * 32],
        ["provider", "show", "0x" + "12" * 20],
        ["providers", "list"],
        ["estimate", "--cpu", "1"],
        ["offer", "sign", "--cpu", "1", "--rate", "1 LNQ/h"],
        ["runway", "guard", "--escrow", "0x" + "ab" * 32, "--below", "1h", "--amount", "1 LNQ", "--cap", "2 LNQ"],
    ],
)
def test_an_unreachable_rpc_exits_3_everywhere(args: list[str], book: Path) -> None:
    env = {"LINQ_RPC_RETRIES": "0", "LINQ_PRIVATE_KEY": "0x" + "11" * 32}
    result = CliRunner().invoke(main, [*args, "--rpc", DEAD_RPC, "--addresses", str(book)], env=env)
    assert result.exit_code == 3, result.output
    assert "127.0.0.1:9" in result.output


def _commands(group: click.Group, prefix: str = "linq") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in group.commands.items():
        out.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            out += _commands(command, f"{prefix} {name}")
    return out


def test_shared_options_have_one_declaration() -> None:
    seen: dict[str, set[tuple[str | None, str]]] = {}
    for where, command in _commands(main):
        if where == "linq render":
            continue  # its --devnet-dir says where --stack's backend is; `render --stack` moves out (issue 11.3)
        for param in command.params:
            if isinstance(param, click.Option) and param.name in (
                "devnet_dir",
                "rpc",
                "addresses",
                "keystore",
                "password_file",
                "as_json",
            ):
                seen.setdefault(str(param.name), set()).add((param.help, where.split()[1]))
    for name, uses in seen.items():
        helps = {h for h, _ in uses}
        assert len(helps) == 1, (name, uses)


def test_the_tree_is_composed_in_one_place() -> None:
    assert {
        "escrow",
        "provider",
        "providers",
        "estimate",
        "offer",
        "runway",
        "devnet",
        "image",
        "lpstack",
        "render",
        "templates",
        "status",
        "logs",
        "metrics",
        "issues",
        "api",
    } == set(main.commands)
    provider = main.commands["provider"]
    assert isinstance(provider, click.Group) and "agent" in provider.commands
    assert "importlib" not in (ROOT / "linq/cli/__init__.py").read_text()  # no import loop finds commands
    attaching = [p.name for p in (ROOT / "linq/cli").glob("*.py") if ".add_command(" in p.read_text()]
    assert attaching == ["provider.py"]  # only the provider group adds its agent subcommand, in its own module
