"""Kubernetes resource quantities as exact integers: CPU in millicores, memory in bytes (shown in MiB)."""

from __future__ import annotations

import re
from fractions import Fraction

_SUFFIX = {
    "": Fraction(1), "m": Fraction(1, 1000), "u": Fraction(1, 10**6), "n": Fraction(1, 10**9),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40), "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}  # fmt: skip
_QUANTITY = re.compile(r"^([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)(?:[eE]([+-]?\d+))?([a-zA-Z]*)$")
MIB = 2**20


def parse(text: str | int | float) -> Fraction:
    """A quantity string ('250m', '1.5', '512Mi', '1e3') as an exact number of base units."""
    if isinstance(text, int | float):
        return Fraction(text)
    match = _QUANTITY.match(text.strip())
    if not match or match.group(3) not in _SUFFIX:
        raise ValueError(f"quantity {text!r} is not a Kubernetes quantity (e.g. 250m, 1, 512Mi, 2Gi)")
    number, exponent, suffix = match.groups()
    value = Fraction(number) * _SUFFIX[suffix]
    return value * Fraction(10) ** int(exponent) if exponent else value


def cpu_millis(text: str | int | float) -> int:
    """CPU quantity in millicores, rounded up (the API rounds requests up to 1m too)."""
    value = parse(text) * 1000
    return -(-value.numerator // value.denominator)


def memory_bytes(text: str | int | float) -> int:
    value = parse(text)
    return -(-value.numerator // value.denominator)


def format_millis(millis: int) -> str:
    return f"{millis}m" if millis % 1000 else f"{millis // 1000}"


def format_mib(nbytes: int) -> str:
    """Bytes as MiB with one decimal when not whole (display only; figures stay in bytes)."""
    whole, rest = divmod(nbytes, MIB)
    if rest == 0:
        return f"{whole}Mi"
    tenths = (rest * 10 + MIB // 2) // MIB
    if tenths == 10:
        return f"{whole + 1}Mi"
    return f"{whole}.{tenths}Mi"
