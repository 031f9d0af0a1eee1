"""Parsing what users type: CPU, memory, storage, durations and LNQ amounts — exact integers only.

Canonical units follow the protocol: CPU millicores, memory MiB, storage GiB, durations in seconds,
money in LNQ wei (18 decimals). Decimal input is parsed digit by digit, never through floats.
"""

from __future__ import annotations

import re

LNQ_DECIMALS = 18
WEI_PER_LNQ = 10**LNQ_DECIMALS


class UnitError(ValueError):
    """A quantity a user typed is malformed; the message names the field, the value and the fix."""


_NUMBER = re.compile(r"^\s*(\d+)(?:\.(\d+))?\s*([A-Za-z/]*)\s*$")


def _scaled(field: str, text: str, whole: str, frac: str | None, scale: int, hint: str) -> int:
    """whole.frac * scale as an exact int; refuses values that would need rounding."""
    frac = frac or ""
    numerator = int(whole + frac) * scale
    denominator = 10 ** len(frac)
    if numerator % denominator:
        raise UnitError(f"{field} {text!r} is finer than the smallest unit; {hint}")
    return numerator // denominator


def parse_cpu_millis(text: str | int, *, field: str = "cpu") -> int:
    """'1500m' → 1500 millicores; '1.5' or '1.5cpu' → 1500 (a bare number is cores, as in Kubernetes)."""
    if isinstance(text, int):
        return _non_negative(field, text * 1000, str(text))
    match = _NUMBER.match(text)
    if not match:
        raise UnitError(f"{field} {text!r} is not a CPU quantity; use cores (e.g. 2 or 0.5) or millicores (1500m)")
    whole, frac, suffix = match.groups()
    hint = "use whole millicores, e.g. 1500m"
    if suffix == "m":
        if frac:
            raise UnitError(f"{field} {text!r} has a fraction of a millicore; {hint}")
        return int(whole)
    if suffix.lower() in ("", "cpu", "cpus", "core", "cores", "vcpu"):
        if not suffix and not frac and int(whole) >= 1000:  # almost certainly meant millicores
            raise UnitError(f"{field} {text!r} would mean {whole} cores; write {whole}m for millicores")
        return _scaled(field, text, whole, frac, 1000, hint)
    raise UnitError(f"{field} {text!r} has unknown unit {suffix!r}; use cores (2, 0.5) or millicores (1500m)")


_MEMORY_MIB = {"": 1, "mi": 1, "mib": 1, "gi": 1024, "gib": 1024, "ti": 1024 * 1024, "tib": 1024 * 1024}
_STORAGE_GIB = {"": 1, "gi": 1, "gib": 1, "ti": 1024, "tib": 1024}


def parse_memory_mib(text: str | int, *, field: str = "memory") -> int:
    """'512Mi' → 512, '4Gi' → 4096, bare numbers are MiB."""
    return _parse_binary(text, field, _MEMORY_MIB, "MiB", "512Mi, 4Gi or a number of MiB")


def parse_storage_gib(text: str | int, *, field: str = "storage") -> int:
    """'20Gi' → 20, '1Ti' → 1024, bare numbers are GiB."""
    return _parse_binary(text, field, _STORAGE_GIB, "GiB", "20Gi, 1Ti or a number of GiB")


def _parse_binary(text: str | int, field: str, table: dict[str, int], unit: str, examples: str) -> int:
    if isinstance(text, int):
        return _non_negative(field, text, str(text))
    match = _NUMBER.match(text)
    if not match:
        raise UnitError(f"{field} {text!r} is not a size; use {examples}")
    whole, frac, suffix = match.groups()
    scale = table.get(suffix.lower())
    if scale is None:
        raise UnitError(f"{field} {text!r} has unknown unit {suffix!r}; use {examples}")
    return _scaled(field, text, whole, frac, scale, f"the registry counts whole {unit}; use {examples}")


_DURATION_SECONDS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration_seconds(text: str | int, *, field: str = "duration") -> int:
    """'90s', '30m', '24h', '7d', '1w', combinations like '1h30m', or bare seconds."""
    if isinstance(text, int):
        return _non_negative(field, text, str(text))
    compact = re.sub(r"\s+", "", text.lower())
    if not re.fullmatch(r"(\d+[a-z]*)+", compact):
        raise UnitError(f"{field} {text!r} is not a duration; use e.g. 3600, 90s, 30m, 24h, 7d or 1h30m")
    total = 0
    for number, suffix in re.findall(r"(\d+)([a-z]*)", compact):
        scale = _DURATION_SECONDS.get(suffix)
        if scale is None:
            raise UnitError(f"{field} {text!r} has unknown unit {suffix!r}; use s, m, h, d or w")
        total += int(number) * scale
    return total


def format_duration(seconds: int) -> str:
    """Seconds as '1d 2h 3m 4s' (exact; zero parts omitted)."""
    if seconds == 0:
        return "0s"
    out = []
    for name, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{name}")
    return " ".join(out)


def parse_lnq(text: str | int, *, field: str = "amount") -> int:
    """'1.5' / '1.5 LNQ' → 1.5e18 wei; '42 wei' → 42. Exact; more than 18 decimals is an error."""
    if isinstance(text, int):
        return _non_negative(field, text, str(text))
    cleaned = text.strip()
    lowered = cleaned.lower()
    for tail in ("/h", "/hour", " per hour"):
        if lowered.endswith(tail):
            cleaned, lowered = cleaned[: -len(tail)].strip(), lowered[: -len(tail)].strip()
    if lowered.endswith("wei"):
        digits = cleaned[:-3].strip()
        if not digits.isdigit():
            raise UnitError(f"{field} {text!r} is not a whole number of wei; e.g. 42000 wei")
        return int(digits)
    if lowered.endswith("lnq"):
        cleaned = cleaned[:-3].strip()
    match = re.fullmatch(r"(\d+)(?:\.(\d+))?", cleaned)
    if not match:
        raise UnitError(f"{field} {text!r} is not an LNQ amount; use e.g. 1.5, 0.0042 LNQ or 42000 wei")
    whole, frac = match.groups()
    if frac and len(frac) > LNQ_DECIMALS:
        raise UnitError(f"{field} {text!r} has {len(frac)} decimals; LNQ has 18 — round it or give wei")
    return int(whole) * WEI_PER_LNQ + int((frac or "").ljust(LNQ_DECIMALS, "0") or "0")


def format_lnq(wei: int, *, unit: str = " LNQ", min_decimals: int = 0) -> str:
    """Exact decimal LNQ: 4200000000000000 → '0.0042 LNQ'. No floats, no rounding, trailing zeros trimmed."""
    sign = "-" if wei < 0 else ""
    whole, frac = divmod(abs(wei), WEI_PER_LNQ)
    frac_text = str(frac).rjust(LNQ_DECIMALS, "0").rstrip("0").ljust(min_decimals, "0")
    return f"{sign}{whole}{'.' + frac_text if frac_text else ''}{unit}"


def _non_negative(field: str, value: int, text: str) -> int:
    if value < 0:
        raise UnitError(f"{field} {text!r} is negative; give a value ≥ 0")
    return value
