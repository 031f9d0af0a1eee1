"""Locating and building the offline toolchain (standard library only: runs before the venv exists)."""
