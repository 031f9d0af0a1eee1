"""The shipped artifacts match the Solidity sources, and the check notices when they do not."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from linq.contracts import build
from linq.contracts.artifacts import CONTRACT_NAMES, ArtifactMissing, load_artifact


def test_build_check_passes_on_the_committed_artifacts() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "linq.contracts.build", "--check"],
        capture_output=True,
        text=True,
        cwd=build.PROJECT_ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "current" in proc.stdout


def test_check_reports_a_changed_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(build.SRC_DIR, contracts / "src")
    monkeypatch.setattr(build, "CONTRACTS_DIR", contracts)
    monkeypatch.setattr(build, "SRC_DIR", contracts / "src")
    assert build.check_artifacts() == []  # an identical copy is current
    escrow = contracts / "src" / "Escrow.sol"
    escrow.write_text(escrow.read_text().replace("uint256 e = _earned", "uint256  e = _earned", 1))
    problems = build.check_artifacts()
    assert len(problems) == len(CONTRACT_NAMES)  # every artifact hashes all compiled sources
    assert all("source hash" in p for p in problems)
    (contracts / "src" / "Extra.sol").write_text("// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\n")
    assert any("src/Extra.sol" in p for p in build.check_artifacts())


def test_check_cli_exits_nonzero_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(build.SRC_DIR, contracts / "src")
    (contracts / "src" / "LNQ.sol").write_text((contracts / "src" / "LNQ.sol").read_text() + "\n// changed\n")
    monkeypatch.setattr(build, "CONTRACTS_DIR", contracts)
    monkeypatch.setattr(build, "SRC_DIR", contracts / "src")
    assert build.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "stale" in err and "python -m linq.contracts.build" in err


def test_build_settings_match_foundry_toml() -> None:
    config = tomllib.loads((build.CONTRACTS_DIR / "foundry.toml").read_text())["profile"]["default"]
    settings = build.SETTINGS
    assert config["evm_version"] == settings["evmVersion"] == "prague"
    assert config["optimizer"] is settings["optimizer"]["enabled"] is True
    assert config["optimizer_runs"] == settings["optimizer"]["runs"]
    assert config["via_ir"] is settings["viaIR"]
    assert config["bytecode_hash"] == settings["metadata"]["bytecodeHash"]
    assert config["cbor_metadata"] is settings["metadata"]["appendCBOR"]
    ci = tomllib.loads((build.CONTRACTS_DIR / "foundry.toml").read_text())["profile"]["ci"]
    assert ci["fuzz"]["runs"] >= 1000
    assert ci["invariant"]["runs"] == 1000 and ci["invariant"]["depth"] == 100


def test_artifacts_load_with_abi_and_bytecode() -> None:
    for name in CONTRACT_NAMES:
        art = load_artifact(name)
        assert art.contract_name == name
        assert art.bytecode.startswith("0x") and len(art.bytecode) > 1000
        assert len(art.deployed_bytecode) < len(art.bytecode)
        # EIP-170: deployable on any chain
        assert (len(art.deployed_bytecode) - 2) // 2 <= 24_576
    functions = {item["name"] for item in load_artifact("Escrow").abi if item["type"] == "function"}
    assert {"create", "createFromOffer", "topUp", "start", "withdraw", "stop", "finalize"} <= functions


def test_unknown_artifact_names_the_choices() -> None:
    with pytest.raises(ArtifactMissing, match="LNQ, ProviderRegistry, Escrow"):
        load_artifact("Lnq")


def test_adapter_answers_version_like_native_solc() -> None:
    out = subprocess.run(
        [str(build.ADAPTER), "--version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "solc, the solidity compiler commandline interface"
    assert out[1].startswith("Version: 0.8.37+commit.") and out[1].endswith(".Linux.g++")
