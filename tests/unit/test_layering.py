"""The import rules between layers, checked on the source (no import side effects): linq.contracts never
imports linq.chain (the chain client uses the contracts, not the other way round); only linq/engine.py (and
our Pulumi language host) import Pulumi."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def _offenders(package: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in allowed:
            continue
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{rel}: {name}")
    return found


def test_contracts_never_import_the_chain_client() -> None:
    assert _offenders("linq/contracts", ("linq.chain",)) == []


def test_only_the_engine_imports_pulumi() -> None:
    allowed = ("linq/engine.py", "linq/tools/language_host.py")
    assert _offenders("linq", ("pulumi", "pulumi_kubernetes"), allowed=allowed) == []


def test_the_api_never_imports_the_cli() -> None:
    """The API and the CLI share library functions (linq.market, linq.catalog, linq.chain, linq.exitcodes);
    neither reaches into the other. Checked on the source and by importing the whole API in a fresh process."""
    import subprocess
    import sys

    assert _offenders("linq/api", ("linq.cli",)) == []
    modules = sorted(p.stem for p in (ROOT / "linq/api").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('linq.api.' + m)\n"
        "print(sorted(n for n in sys.modules if n == 'linq.cli' or n.startswith('linq.cli.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
    assert len(modules) >= 9  # the check imported the API's modules, not an empty list
