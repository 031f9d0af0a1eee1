"""Compile the contracts with solc-js and export linq/artifacts/*.json; `--check` verifies they are current.

    python -m linq.contracts.build           # compile contracts/src and write the artifacts
    python -m linq.contracts.build --check   # exit 1 if sources/settings changed since the build

Compiles through contracts/tools/solc (the same solc-js adapter forge and slither use) with the settings of
contracts/foundry.toml. The source hash covers every compiled source (ours and OpenZeppelin's), the compiler
version and the settings, so a changed import or optimizer setting is caught too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from linq.contracts.artifacts import ARTIFACTS_DIR, CONTRACT_NAMES, artifact_path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
SRC_DIR = CONTRACTS_DIR / "src"
NODE_MODULES = PROJECT_ROOT / "node_modules"
ADAPTER = CONTRACTS_DIR / "tools" / "solc"

# Must match contracts/foundry.toml (tests/unit/test_contracts_build.py compares them).
SETTINGS: dict[str, Any] = {
    "evmVersion": "prague",
    "optimizer": {"enabled": True, "runs": 10000},
    "viaIR": True,
    "metadata": {"bytecodeHash": "none", "appendCBOR": False},
    "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
}


class BuildError(RuntimeError):
    """Compilation failed or artifacts disagree with the sources; the message says what and how to fix."""


def our_sources() -> list[str]:
    """Our source units, as paths relative to contracts/ (e.g. src/Escrow.sol)."""
    return sorted(p.relative_to(CONTRACTS_DIR).as_posix() for p in SRC_DIR.rglob("*.sol"))


def source_file(unit: str) -> Path:
    """Where a source unit lives: ours under contracts/, imports under node_modules/."""
    if unit.startswith("node_modules/"):
        return PROJECT_ROOT / unit
    return CONTRACTS_DIR / unit


def source_hash(units: list[str], compiler: str) -> str:
    digest = hashlib.sha256()
    digest.update(compiler.encode())
    digest.update(json.dumps(SETTINGS, sort_keys=True).encode())
    for unit in sorted(units):
        path = source_file(unit)
        if not path.is_file():
            raise BuildError(f"source {unit} is missing (expected {path}); run `npm ci` or restore the file")
        digest.update(unit.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@cache
def compiler_version() -> str:
    out = _run_adapter(["--version"], None)
    for line in out.splitlines():
        if line.startswith("Version: "):
            return line.removeprefix("Version: ").strip()
    raise BuildError(f"unexpected `{ADAPTER} --version` output: {out!r}")


def _run_adapter(args: list[str], stdin: str | None) -> str:
    if not (NODE_MODULES / "solc").is_dir():
        raise BuildError(f"solc-js is not installed in {NODE_MODULES}; run `npm ci` (or `make setup`)")
    proc = subprocess.run(
        [str(ADAPTER), *args], input=stdin, capture_output=True, text=True, cwd=CONTRACTS_DIR, check=False
    )
    if proc.returncode != 0:
        raise BuildError(f"{ADAPTER} {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def standard_input() -> dict[str, Any]:
    """The solc standard-JSON input for contracts/src (paths relative to contracts/, imports resolved by the
    adapter from node_modules); slither compiles the same input."""
    return {
        "language": "Solidity",
        "sources": {unit: {"content": (CONTRACTS_DIR / unit).read_text()} for unit in our_sources()},
        "settings": {
            **SETTINGS,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }


def compile_contracts() -> dict[str, dict[str, Any]]:
    """Compile contracts/src and return one artifact dict per contract in CONTRACT_NAMES."""
    output = json.loads(_run_adapter(["--standard-json"], json.dumps(standard_input())))
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        messages = "\n".join(e.get("formattedMessage", str(e)) for e in errors)
        raise BuildError(f"compilation failed:\n{messages}")
    all_units = sorted(output["sources"])
    compiler = compiler_version()
    digest = source_hash(all_units, compiler)
    artifacts: dict[str, dict[str, Any]] = {}
    for unit, contracts in output["contracts"].items():
        for name, compiled in contracts.items():
            if name not in CONTRACT_NAMES or not unit.startswith("src/"):
                continue
            artifacts[name] = {
                "contract_name": name,
                "source": unit,
                "abi": compiled["abi"],
                "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
                "deployed_bytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
                "compiler": compiler,
                "settings": SETTINGS,
                "sources": all_units,
                "source_hash": digest,
            }
    missing = set(CONTRACT_NAMES) - set(artifacts)
    if missing:
        raise BuildError(f"contracts {sorted(missing)} not found in {SRC_DIR}")
    return artifacts


def write_artifacts(artifacts: dict[str, dict[str, Any]]) -> list[Path]:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in artifacts.items():
        path = artifact_path(name)
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written


def check_artifacts() -> list[str]:
    """Problems that make the artifacts disagree with the sources; empty if they are current."""
    problems = []
    compiler = compiler_version()
    ours = set(our_sources())
    for name in CONTRACT_NAMES:
        path = artifact_path(name)
        if not path.is_file():
            problems.append(f"{path} is missing")
            continue
        data = json.loads(path.read_text())
        recorded = data.get("sources", [])
        if not ours <= set(recorded):
            problems.append(f"{name}: new sources not in the artifact: {sorted(ours - set(recorded))}")
            continue
        units = [u for u in recorded if not u.startswith("src/") or u in ours]
        if len(units) != len(recorded):
            problems.append(f"{name}: sources removed since the build: {sorted(set(recorded) - set(units))}")
            continue
        try:
            current = source_hash(recorded, compiler)
        except BuildError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if current != data.get("source_hash"):
            problems.append(
                f"{name}: source hash {data.get('source_hash', '')[:12]}… in {path.name} != {current[:12]}… "
                "of the current sources, compiler and settings"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linq.contracts.build", description="Build artifacts")
    parser.add_argument("--check", action="store_true", help="verify the artifacts match the sources")
    parser.add_argument("--write-input", metavar="PATH", help="only write the solc standard-JSON input to PATH")
    args = parser.parse_args(argv)
    if args.write_input:
        # For analysers (slither): full output, and the legacy pipeline, which is faster and analysed the same.
        data = standard_input()
        data["settings"]["viaIR"] = False
        data["settings"]["outputSelection"] = {
            "*": {
                "*": ["abi", "devdoc", "userdoc", "evm.bytecode", "evm.deployedBytecode", "evm.methodIdentifiers"],
                "": ["ast"],
            }
        }
        Path(args.write_input).write_text(json.dumps(data, indent=1))
        return 0
    try:
        if args.check:
            problems = check_artifacts()
            if problems:
                print("contract artifacts are stale:", file=sys.stderr)
                for problem in problems:
                    print(f"  - {problem}", file=sys.stderr)
                print("fix: run `python -m linq.contracts.build` and commit linq/artifacts/", file=sys.stderr)
                return 1
            print(f"contract artifacts are current ({', '.join(CONTRACT_NAMES)})")
            return 0
        for path in write_artifacts(compile_contracts()):
            print(f"wrote {path.relative_to(PROJECT_ROOT)}")
        return 0
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
