"""Where the catalog lives: templates/ at the project root, or $LINQ_TEMPLATES_DIR."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def templates_dir() -> Path:
    override = os.environ.get("LINQ_TEMPLATES_DIR")
    return Path(override) if override else PROJECT_ROOT / "templates"


def plans_file() -> Path:
    return templates_dir() / "plans.yaml"
