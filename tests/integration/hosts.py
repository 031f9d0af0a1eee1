"""The one gate for tests that need network-namespace SSH hosts: fail in CI, skip only on a dev machine."""

from __future__ import annotations

import pytest

from linq.testhosts import in_ci, missing_requirements


def require_test_hosts() -> None:
    reasons = missing_requirements()
    if reasons:
        message = "test hosts cannot start: " + "; ".join(reasons)
        if in_ci():
            pytest.fail(message)  # CI must prove the playbooks, never skip them
        pytest.skip(message)
