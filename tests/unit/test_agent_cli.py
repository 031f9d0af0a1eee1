"""`linq provider agent` input errors, before any server is needed: each exit code of the docstring, and
messages that name the field, the bad value and the fix. The key never appears in any output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from linq.cli import main

KEY = "0x" + "4f" * 32  # a valid secp256k1 scalar; never printed
KEY_ADDRESS = "0x2c3E2B0C6D4fAa4b5B3f0d1A8F2B32be7cDd1A4E"  # not this key's address: a mismatch on purpose


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "addresses.json"
    path.write_text(
        json.dumps(
            {
                "chain_id": 31337,
                "lnq": "0x" + "11" * 20,
                "registry": "0x" + "22" * 20,
                "escrow": "0x" + "33" * 20,
                "deployed_block": 1,
            }
        )
    )
    return path


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [
                    {"name": "k", "cluster": {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}}
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
            }
        )
    )
    return path


CLEAN_ENV = {
    name: None
    for name in (
        "LINQ_PRIVATE_KEY",
        "LINQ_KEYSTORE",
        "LINQ_DEV_ACCOUNT",
        "LINQ_RPC_URL",
        "LINQ_ADDRESSES",
        "LINQ_DEVNET_DIR",
        "LINQ_CHAIN_ID",
        "KUBECONFIG",
        "LINQ_PROVIDER_ADDRESS",
        "LINQ_WITHDRAW_INTERVAL_SECONDS",
        "KUBERNETES_SERVICE_HOST",
    )
}


def agent(*args: str, **env: str) -> Result:
    result = CliRunner().invoke(main, ["provider", "agent", *args], env={**CLEAN_ENV, **env})
    assert KEY[2:] not in (result.output or "")
    return result


def rpc(book: Path) -> list[str]:
    return ["--rpc", "http://127.0.0.1:9", "--addresses", str(book)]


def test_agent_is_a_provider_subcommand() -> None:
    result = CliRunner().invoke(main, ["provider", "--help"])
    assert result.exit_code == 0 and "agent" in result.output


@pytest.mark.parametrize(
    ("flags", "field", "value", "fix"),
    [
        (["--interval", "soon"], "--interval", "soon", "use e.g. 3600, 90s"),
        (["--interval", "0s"], "--interval", "0s", "give at least 1s"),
        (["--withdraw-every", "1 fortnight"], "--withdraw-every", "1 fortnight", "use s, m, h, d or w"),
        (["--min-withdraw", "-3"], "--min-withdraw", "-3", "give e.g. 1.5"),
        (["--min-withdraw", "0.0000000000000000001"], "--min-withdraw", "0.0000000000000000001", "give wei"),
        (["--decline-before", "later"], "--decline-before", "later", "use e.g. 3600, 90s"),
    ],
)
def test_bad_durations_and_amounts_exit_2_naming_the_field(
    flags: list[str], field: str, value: str, fix: str, book: Path
) -> None:
    result = agent(*flags, *rpc(book), LINQ_PRIVATE_KEY=KEY)
    assert result.exit_code == 2, result.output
    assert field in result.output and value in result.output and fix in result.output


def test_withdraw_interval_from_the_lpstack_environment_is_checked(book: Path) -> None:
    result = agent(*rpc(book), LINQ_PRIVATE_KEY=KEY, LINQ_WITHDRAW_INTERVAL_SECONDS="hourly")
    assert result.exit_code == 2 and "$LINQ_WITHDRAW_INTERVAL_SECONDS" in result.output and "hourly" in result.output


def test_missing_address_book_exits_3(tmp_path: Path) -> None:
    result = agent("--rpc", "http://127.0.0.1:9", "--addresses", str(tmp_path / "nope.json"), LINQ_PRIVATE_KEY=KEY)
    assert result.exit_code == 3 and "nope.json" in result.output and "does not exist" in result.output


def test_no_key_exits_4(book: Path) -> None:
    result = agent(*rpc(book))
    assert result.exit_code == 4 and "LINQ_PRIVATE_KEY" in result.output


def test_dev_key_index_needs_the_devnet_and_excludes_keystore(book: Path, tmp_path: Path) -> None:
    result = agent(*rpc(book), "--dev-key-index", "1")
    assert result.exit_code == 2 and "--dev-key-index" in result.output and "--devnet-dir" in result.output
    result = agent(*rpc(book), "--dev-key-index", "1", "--keystore", str(tmp_path / "ks.json"))
    assert result.exit_code == 2 and "conflicts with --keystore" in result.output


def test_provider_address_mismatch_exits_2(book: Path, kubeconfig: Path) -> None:
    result = agent(*rpc(book), "--kubeconfig", str(kubeconfig), LINQ_PRIVATE_KEY=KEY, LINQ_PROVIDER_ADDRESS=KEY_ADDRESS)
    assert result.exit_code == 2
    assert "$LINQ_PROVIDER_ADDRESS" in result.output and KEY_ADDRESS in result.output and "signer" in result.output


def test_cluster_config_errors_exit_5(book: Path, tmp_path: Path) -> None:
    result = agent(*rpc(book), "--kubeconfig", str(tmp_path / "missing"), LINQ_PRIVATE_KEY=KEY)
    assert result.exit_code == 5 and "--kubeconfig" in result.output and "missing" in result.output
    broken = tmp_path / "broken"
    broken.write_text("apiVersion: v1\nkind: Config\n")
    result = agent(*rpc(book), "--kubeconfig", str(broken), LINQ_PRIVATE_KEY=KEY)
    assert result.exit_code == 5 and "not a usable kubeconfig" in result.output
    result = agent(*rpc(book), LINQ_PRIVATE_KEY=KEY)  # no kubeconfig anywhere, not in a pod
    assert result.exit_code == 5 and "--kubeconfig" in result.output


def test_unreachable_rpc_exits_3(book: Path, kubeconfig: Path) -> None:
    result = agent(*rpc(book), "--kubeconfig", str(kubeconfig), "--once", LINQ_PRIVATE_KEY=KEY, LINQ_RPC_RETRIES="0")
    assert result.exit_code == 3 and "127.0.0.1:9" in result.output
