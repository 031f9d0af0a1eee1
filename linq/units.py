"""The one unit grammar: what people write for amounts, rates, durations, CPU, memory and storage.

Every surface reads quantities through this module: the stack config (`linq:*`), every CLI flag, the
API-facing models and the Escrow resource's inputs, so the same text means the same thing everywhere.

    amount     '1.5 LNQ', '0.0042LNQ', '42000 wei'          -> LNQ wei (int)
    rate       '0.01 LNQ/h', '0.01 LNQ', '10 wei/hour'        -> LNQ wei per hour (int)
    duration   '90s', '90m', '1h30m', '24h', '7d', '2w', '3600' (bare = seconds) -> seconds (int)
    cpu        '0.5', '2', '2 cores', '500m'                  -> millicores (int)
    memory     '512Mi', '4Gi', '1Ti', '512' (bare = MiB)       -> MiB (int)
    storage    '20Gi', '1Ti', '20' (bare = GiB)                -> GiB (int)

A bare number is refused for amounts and rates (except 0): '1000' could be 1000 LNQ or 1000 wei, a factor
of 10**18 apart, so the message shows both readings and asks for the unit. Floats are refused everywhere
(YAML and JSON turn 0.5 into a double): quote the value. Parsing is digit-string and integer arithmetic
only; each format_* function writes text its parse_* function reads back to the same value.

Kubernetes' own quantities (what the API server reports: '250m', '1.5Gi', '1e3') are read by
`kube_quantity` and friends at the end; they are not user input.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from linq.errors import FieldError
from linq.protocol.money import ceil_div

LNQ_DECIMALS = 18
WEI_PER_LNQ = 10**LNQ_DECIMALS


class UnitError(FieldError):
    """A quantity someone typed is malformed or ambiguous: names the field, the value and the fix."""


def _refuse_non_text(field: str, value: Any, example: str) -> None:
    if isinstance(value, bool) or value is None:
        raise UnitError(field, value, "is not a quantity", f"write e.g. {example}")
    if isinstance(value, float):
        raise UnitError(
            field,
            value,
            "is a float (YAML/JSON read it as a double, which can round)",
            f"quantities are never a float: quote it, e.g. {example}",
        )


_DECIMAL = r"(\d+)(?:\.(\d+))?"


def _scaled(field: str, value: Any, whole: str, frac: str | None, scale: int, fix: str) -> int:
    """whole.frac * scale as an exact int; refuses values that would need rounding."""
    frac = frac or ""
    numerator = int(whole + frac) * scale
    denominator = 10 ** len(frac)
    if numerator % denominator:
        raise UnitError(field, value, "is finer than the smallest unit", fix)
    return numerator // denominator


# ---- money: amounts and rates ---------------------------------------------------------------------------
_MONEY = re.compile(
    rf"^\s*{_DECIMAL}\s*(lnq|wei)?\s*(/\s*h|/\s*hr|/\s*hour|\s+per\s+hour)?\s*$",
    re.IGNORECASE,
)


def _money(field: str, value: Any, *, rate: bool) -> int:
    per = "/h" if rate else ""
    example = f"'1.5 LNQ{per}' or '42000 wei{per}'"
    _refuse_non_text(field, value, example)
    text = str(value)
    match = _MONEY.match(text)
    if not match:
        what = "an hourly rate" if rate else "an LNQ amount"
        if text.strip().startswith("-"):
            raise UnitError(field, value, f"is negative; {what} is 0 or more", f"give e.g. 1.5 LNQ{per}")
        raise UnitError(field, value, f"is not {what}", f"use e.g. 1.5 LNQ{per}, 0.0042 LNQ{per} or 42000 wei{per}")
    whole, frac, unit, per_hour = match.groups()
    if per_hour and not rate:
        raise UnitError(field, value, "is a rate per hour, not an amount", "give an amount, e.g. '1.5 LNQ'")
    unit = (unit or "").lower()
    if unit == "wei":
        if frac:
            raise UnitError(field, value, "is not a whole number of wei", f"e.g. '42000 wei{per}'")
        return int(whole)
    if frac and len(frac) > LNQ_DECIMALS:
        raise UnitError(field, value, f"has {len(frac)} decimals; LNQ has {LNQ_DECIMALS}", "round it or give wei")
    wei = int(whole) * WEI_PER_LNQ + int((frac or "").ljust(LNQ_DECIMALS, "0") or "0")
    if unit == "lnq" or wei == 0:
        return wei  # '0' needs no unit: both readings agree
    number = whole + (f".{frac}" if frac else "")
    if frac:
        raise UnitError(field, value, "has no unit", f"write '{number} LNQ{per}' ({wei} wei{per}) or give wei")
    raise UnitError(
        field,
        value,
        f"is ambiguous: {number} LNQ{per} = {wei} wei{per} or {number} wei{per}",
        f"write '{number} LNQ{per}' or '{number} wei{per}'",
    )


def parse_amount(value: Any, *, field: str = "amount") -> int:
    """An LNQ amount in wei: '1.5 LNQ' -> 1.5e18, '42 wei' -> 42. A bare number other than 0 is refused."""
    return _money(field, value, rate=False)


def parse_rate(value: Any, *, field: str = "rate") -> int:
    """An hourly rate in wei per hour: '0.01 LNQ/h', '0.01 LNQ' (per hour by the field) or '10 wei/h'."""
    return _money(field, value, rate=True)


def format_lnq(wei: int, *, unit: str = " LNQ", min_decimals: int = 0) -> str:
    """Exact decimal LNQ: 4200000000000000 -> '0.0042 LNQ'. No floats, no rounding, trailing zeros trimmed.
    With the default unit, parse_amount reads it back to the same wei."""
    sign = "-" if wei < 0 else ""
    whole, frac = divmod(abs(wei), WEI_PER_LNQ)
    frac_text = str(frac).rjust(LNQ_DECIMALS, "0").rstrip("0").ljust(min_decimals, "0")
    return f"{sign}{whole}{'.' + frac_text if frac_text else ''}{unit}"


def format_amount(wei: int) -> str:
    return format_lnq(wei)


def format_rate(wei_per_hour: int) -> str:
    """'0.0042 LNQ/h' — exact; parse_rate reads it back."""
    return format_lnq(wei_per_hour, unit=" LNQ/h")


# ---- durations ----------------------------------------------------------------------------------------
_DURATION_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "w": 604800}
_DURATION_EXAMPLES = "use e.g. 3600, 90s, 30m, 24h, 7d or 1h30m"


def parse_duration(value: Any, *, field: str = "duration") -> int:
    """Seconds from '90s', '30m', '24h', '7d', '1w', combinations like '1h30m' / '1d 12h', or bare seconds."""
    _refuse_non_text(field, value, "'24h'")
    if isinstance(value, int):
        if value < 0:
            raise UnitError(field, value, "is negative", "give a duration of 0 or more, e.g. 24h")
        return value
    compact = re.sub(r"\s+", "", str(value).lower())
    if compact.isdigit():
        return int(compact)
    if not re.fullmatch(r"(\d+[a-z]+)+", compact):
        if compact.startswith("-"):
            raise UnitError(field, value, "is negative; a duration is 0 or more", _DURATION_EXAMPLES)
        raise UnitError(field, value, "is not a duration", _DURATION_EXAMPLES)
    total = 0
    for number, suffix in re.findall(r"(\d+)([a-z]+)", compact):
        scale = _DURATION_SECONDS.get(suffix)
        if scale is None:
            raise UnitError(field, value, f"has unknown unit {suffix!r}", "use s, m, h, d or w")
        total += int(number) * scale
    return total


def format_duration(seconds: int) -> str:
    """Seconds as '1d 2h 3m 4s' (exact; zero parts omitted); parse_duration reads it back."""
    if seconds == 0:
        return "0s"
    out = []
    for name, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{name}")
    return " ".join(out)


# ---- CPU, memory, storage -----------------------------------------------------------------------------
_SIZE = re.compile(rf"^\s*{_DECIMAL}\s*([A-Za-z]*)\s*$")
_CPU_FIX = "use cores (2, 0.5) or millicores (500m)"


def parse_cpu(value: Any, *, field: str = "cpu") -> int:
    """Millicores: '500m' -> 500; '0.5', '2', '2 cores' -> cores x 1000 (a bare number is cores, as in Kubernetes)."""
    _refuse_non_text(field, value, "'0.5' or '500m'")
    if isinstance(value, int):
        if value < 0:
            raise UnitError(field, value, "is negative", _CPU_FIX)
        return value * 1000
    match = _SIZE.match(str(value))
    if not match:
        raise UnitError(field, value, "is not a CPU quantity", _CPU_FIX)
    whole, frac, suffix = match.groups()
    fix = "use whole millicores, e.g. 1500m"
    if suffix == "m":
        if frac:
            raise UnitError(field, value, "has a fraction of a millicore", fix)
        return int(whole)
    if suffix.lower() in ("", "cpu", "cpus", "core", "cores", "vcpu"):
        if not suffix and not frac and int(whole) >= 1000:  # almost certainly meant millicores
            raise UnitError(field, value, f"would mean {whole} cores", f"write {whole}m for millicores")
        return _scaled(field, value, whole, frac, 1000, fix)
    raise UnitError(field, value, f"has unknown unit {suffix!r}", _CPU_FIX)


def format_cpu(millis: int) -> str:
    """Whole cores as '2', anything else (or 1000 cores and more, which read as a typo) as '1500m'."""
    return f"{millis // 1000}" if millis % 1000 == 0 and millis < 1000 * 1000 else f"{millis}m"


_MEMORY_MIB = {"": 1, "mi": 1, "mib": 1, "gi": 1024, "gib": 1024, "ti": 1024**2, "tib": 1024**2}
_STORAGE_GIB = {"": 1, "gi": 1, "gib": 1, "ti": 1024, "tib": 1024}


def parse_memory(value: Any, *, field: str = "memory") -> int:
    """MiB: '512Mi' -> 512, '4Gi' -> 4096, '1.5Gi' -> 1536; a bare number is MiB."""
    return _binary(value, field, _MEMORY_MIB, "MiB", "512Mi, 4Gi or a number of MiB")


def parse_storage(value: Any, *, field: str = "storage") -> int:
    """GiB: '20Gi' -> 20, '1Ti' -> 1024; a bare number is GiB."""
    return _binary(value, field, _STORAGE_GIB, "GiB", "20Gi, 1Ti or a number of GiB")


def _binary(value: Any, field: str, table: dict[str, int], unit: str, examples: str) -> int:
    _refuse_non_text(field, value, examples.split(",")[0])
    if isinstance(value, int):
        if value < 0:
            raise UnitError(field, value, "is negative", f"use {examples}")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise UnitError(field, value, "is not a size", f"use {examples}")
    whole, frac, suffix = match.groups()
    scale = table.get(suffix.lower())
    if scale is None:
        raise UnitError(field, value, f"has unknown unit {suffix!r}", f"use {examples}")
    return _scaled(field, value, whole, frac, scale, f"the registry counts whole {unit}; use {examples}")


def format_memory(mib: int) -> str:
    return _format_binary(mib, (("Ti", 1024**2), ("Gi", 1024)), "Mi")


def format_storage(gib: int) -> str:
    return _format_binary(gib, (("Ti", 1024),), "Gi")


def _format_binary(count: int, larger: tuple[tuple[str, int], ...], base: str) -> str:
    for suffix, size in larger:
        if count and count % size == 0:
            return f"{count // size}{suffix}"
    return f"{count}{base}"


# ---- Kubernetes' own quantities (read from the API, not typed by users) -----------------------------------
_KUBE_SUFFIX = {
    "": Fraction(1),
    "m": Fraction(1, 1000),
    "u": Fraction(1, 10**6),
    "n": Fraction(1, 10**9),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
_KUBE_QUANTITY = re.compile(r"^([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)(?:[eE]([+-]?\d+))?([a-zA-Z]*)$")
MIB = 2**20


def kube_quantity(text: str | int) -> Fraction:
    """A Kubernetes quantity ('250m', '1.5', '512Mi', '1e3') as an exact number of base units."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError(f"quantity {text!r} is not a Kubernetes quantity (e.g. 250m, 1, 512Mi, 2Gi)")
    if isinstance(text, int):
        return Fraction(text)
    match = _KUBE_QUANTITY.match(text.strip())
    if not match or match.group(3) not in _KUBE_SUFFIX:
        raise ValueError(f"quantity {text!r} is not a Kubernetes quantity (e.g. 250m, 1, 512Mi, 2Gi)")
    number, exponent, suffix = match.groups()
    value = Fraction(number) * _KUBE_SUFFIX[suffix]
    return value * Fraction(10) ** int(exponent) if exponent else value


def kube_cpu_millis(text: str | int) -> int:
    """A CPU quantity in millicores, rounded up (the API rounds requests up to 1m too)."""
    value = kube_quantity(text) * 1000
    return ceil_div(value.numerator, value.denominator)


def kube_memory_bytes(text: str | int) -> int:
    value = kube_quantity(text)
    return ceil_div(value.numerator, value.denominator)


def format_mib_bytes(nbytes: int) -> str:
    """Bytes as MiB with one decimal when not whole (display only; figures stay in bytes)."""
    whole, rest = divmod(nbytes, MIB)
    if rest == 0:
        return f"{whole}Mi"
    tenths = (rest * 10 + MIB // 2) // MIB
    if tenths == 10:
        return f"{whole + 1}Mi"
    return f"{whole}.{tenths}Mi"


def above_zero(field: str, text: str, value: int, example: str) -> int:
    """`value` (parsed from `field`'s `text`) when it is above zero; zero is refused naming the field."""
    if value == 0:
        raise UnitError(field, text, "is zero", f"give more than zero, e.g. {field} {example}")
    return value
