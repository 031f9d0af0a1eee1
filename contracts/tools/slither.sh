#!/usr/bin/env bash
# Static analysis with slither, offline: slither lives in its own venv (it pins web3 < 8, the toolkit uses 8)
# and compiles through the same solc-js adapter as forge.
#   contracts/tools/slither.sh [extra slither args]     e.g. --checklist, --json out.json
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"          # contracts/
root="$(cd "$here/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/linq/tools"
venv="$cache/slither-venv"
version="0.11.6"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python="python3"

if [ "$("$venv/bin/slither" --version 2>/dev/null)" != "$version" ]; then
  echo "slither: creating $venv (slither-analyzer==$version)" >&2
  mkdir -p "$cache"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "slither-analyzer==$version"
fi

cd "$here"
# crytic-compile reads foundry.toml through `forge config` even when told to compile with solc.
export PATH="$root/node_modules/@foundry-rs/forge-linux-amd64/bin:$PATH"
# Findings we triaged are documented in docs/contracts.md; detectors excluded here are noise for this design:
#   timestamp: accrual is defined on block time; naming-convention: interface names are fixed;
#   assembly: two audited hashing/log blocks; solc-version/pragma: interfaces use a floating ^0.8.28 on purpose.
# The same standard-JSON input the artifacts are built from (linq.contracts.build), compiled by the adapter.
# (kept under contracts/cache/: crytic-compile looks for the project root upwards from the input's directory)
mkdir -p "$here/cache"
input="$here/cache/slither-input.json"
"$root/.venv/bin/python" -m linq.contracts.build --write-input "$input"
"$venv/bin/slither" "$input" \
  --compile-force-framework solc-json \
  --solc "$here/tools/solc" \
  --filter-paths "node_modules" \
  --exclude timestamp,naming-convention,assembly,solc-version,pragma \
  "$@"
