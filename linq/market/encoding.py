"""bytes32 <-> text for the registry's short strings (region, GPU model) and address normalisation."""

from __future__ import annotations

from eth_utils import is_address, to_checksum_address

BYTES32 = 32


class EncodingError(ValueError):
    """A value cannot be encoded for the chain; the message names the field, the value and the fix."""


def text_to_bytes32(text: str, *, field: str = "value") -> bytes:
    """UTF-8 text, right-padded with zero bytes, as the contracts store short strings."""
    raw = text.encode()
    if len(raw) > BYTES32:
        raise EncodingError(
            f"{field} {text!r} is {len(raw)} bytes long; the registry stores at most 32 bytes — use a shorter name"
        )
    if b"\x00" in raw:
        raise EncodingError(f"{field} {text!r} contains a NUL character; remove it")
    return raw.ljust(BYTES32, b"\x00")


def bytes32_to_text(value: bytes | str) -> str:
    """Inverse of text_to_bytes32; non-UTF-8 values (e.g. a raw hash) come back as 0x-hex."""
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    stripped = raw.rstrip(b"\x00")
    try:
        text = stripped.decode()
    except UnicodeDecodeError:
        return "0x" + raw.hex()
    if "\x00" in text or not text.isprintable():
        return "0x" + raw.hex()
    return text


def bytes32_hex(value: bytes | str) -> str:
    """A bytes32 as 0x + 64 hex digits (metadata hashes are shown and cached this way)."""
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != BYTES32:
        raise EncodingError(f"bytes32 value 0x{raw.hex()} has {len(raw)} bytes; expected exactly 32")
    return "0x" + raw.hex()


def checksum(address: str, *, field: str = "address") -> str:
    """An EIP-55 checksummed address, or an error naming the field."""
    if not isinstance(address, str) or not is_address(address):
        raise EncodingError(f"{field} {address!r} is not an Ethereum address; expected 0x followed by 40 hex digits")
    return to_checksum_address(address)


ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def normalise_region(region: str) -> str:
    """Regions are compared case-insensitively and without surrounding spaces ('EU-West ' == 'eu-west')."""
    return region.strip().lower()


def region_to_bytes32(region: str) -> bytes:
    return text_to_bytes32(normalise_region(region), field="region")


def region_from_bytes32(value: bytes | str) -> str:
    return bytes32_to_text(value)


def region_matches(provider_region: str, wanted: str) -> bool:
    """A wanted region matches itself and its sub-regions: 'eu' matches 'eu-west' and 'eu-west-2'."""
    have, want = normalise_region(provider_region), normalise_region(wanted)
    return have == want or have.startswith(want + "-")
