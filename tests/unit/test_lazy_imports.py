"""Importing the Pulumi program's modules, or the modules the dynamic provider process unpickles, loads neither
web3 nor eth_account/eth_abi nor the `kubernetes` client: they cost seconds to import and are loaded by the
first chain call (linq.chain's lazy names) or the first signature. A no-op `up` whose dynamic providers make no
chain call therefore never pays for them. Each case runs in a fresh interpreter and reads sys.modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("web3", "eth_account", "eth_abi", "eth_keys", "eth_keyfile", "kubernetes")

MODULES = [
    "components.stack_program",  # the program
    "components.escrow",  # what the dynamic provider process unpickles
    "components.lease_credential",
    "components.generated_secrets",
    "linq.chain",
    "linq.chain.escrows",
    "linq.chain.escrow_spec",
    "linq.contracts",
    "linq.contracts.terms",
    "linq.market.offers",
]


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def _heavy_loaded(prelude: str) -> list[str]:
    loaded = "sorted({n.split('.')[0] for n in sys.modules} & set(" + repr(HEAVY) + "))"
    return _run(f"import json, sys\n{prelude}\nprint(json.dumps({loaded}))")


def test_importing_the_program_and_provider_modules_loads_no_chain_or_kubernetes_client() -> None:
    assert _heavy_loaded(f"for m in {MODULES!r}: __import__(m)") == []


def test_the_first_chain_name_loads_web3() -> None:
    """The lazy names still resolve (and the check above would see web3 if it were imported)."""
    names = _run(
        "import json, linq.chain as c\n"
        "try:\n    c.Nope\nexcept AttributeError as e:\n    missing = str(e)\n"
        "print(json.dumps([c.ChainClient.__module__, c.resolve_signer.__module__, c.TxResult.__name__, missing]))"
    )
    assert names == [
        "linq.chain.client",
        "linq.chain.signers",
        "TxResult",
        "module 'linq.chain' has no attribute 'Nope'",
    ]
    assert "web3" in _heavy_loaded("import linq.chain; linq.chain.ChainClient")
