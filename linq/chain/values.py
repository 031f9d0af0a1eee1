"""Exact whole numbers from user input and from Pulumi's wire format.

Pulumi carries numbers as float64, so ints come back as 4000.0: an integral float up to 2**53 is
accepted; anything larger must be a decimal string (wei amounts always are), so no amount is ever
rounded. Booleans and fractional values are refused with the field named.
"""

from __future__ import annotations

from linq.chain.errors import InputError

FLOAT_EXACT = 2**53


def whole(field: str, value: object, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or value is None:
        raise InputError(field, value, "is not a whole number", "give an integer, e.g. 4000")
    if isinstance(value, float):
        if not value.is_integer() or abs(value) > FLOAT_EXACT:
            raise InputError(
                field, value, "is not an exact whole number", "give an integer; write wei amounts as decimal strings"
            )
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        digits = text[1:] if text.startswith("-") else text
        if not digits.isdigit():
            raise InputError(field, value, "is not a whole number", "give digits only, e.g. 4000")
        number = int(text)
    if number < minimum:
        raise InputError(field, value, f"is below {minimum}", f"give {minimum} or more")
    return number
