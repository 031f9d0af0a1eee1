"""Installs linq's test-only fault hook in a process started with this directory on PYTHONPATH (tests only)."""

import linq_fault_hooks

linq_fault_hooks.install()
