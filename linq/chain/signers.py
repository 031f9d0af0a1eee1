"""Signing keys, from places where secrets belong — never from plain resource inputs.

Sources, in order: an explicit key (Pulumi secret stack config `linq:signerKey`), the environment
($LINQ_PRIVATE_KEY), an encrypted keystore file (password from $LINQ_KEYSTORE_PASSWORD or a password
file), and on the devnet a dev account by index (linq:devAccount, --dev-key-index or $LINQ_DEV_ACCOUNT).
A dev account and a key both configured is an error naming both (`resolve_signer`).
A Signer shows only its address, refuses to be pickled, and no error message ever contains key material.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from linq.chain.errors import SignerError

ENV_KEY = "LINQ_PRIVATE_KEY"
ENV_KEYSTORE = "LINQ_KEYSTORE"
ENV_KEYSTORE_PASSWORD = "LINQ_KEYSTORE_PASSWORD"  # noqa: S105 — a variable name, not a secret
ENV_KEYSTORE_PASSWORD_FILE = "LINQ_KEYSTORE_PASSWORD_FILE"  # noqa: S105 — a variable name
ENV_DEV_ACCOUNT = "LINQ_DEV_ACCOUNT"


class Signer:
    """A local account that signs transactions; `source` says where the key came from (never the key)."""

    __slots__ = ("_account", "source")

    def __init__(self, account: LocalAccount, source: str) -> None:
        self._account = account
        self.source = source

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    def sign_transaction(self, tx: dict[str, Any]) -> Any:
        return self._account.sign_transaction(tx)

    def sign_typed_data(self, message: dict[str, Any]) -> Any:
        return Account.sign_typed_data(self._account.key, full_message=message)

    def __repr__(self) -> str:
        return f"Signer({self.address} from {self.source})"

    def __reduce__(self) -> Any:
        raise TypeError("a Signer holds a private key and is never serialised; resolve it again where it is used")


def from_key(key: str, *, source: str) -> Signer:
    text = (key or "").strip()
    body = text[2:] if text.lower().startswith("0x") else text
    if len(body) != 64 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise SignerError(
            f"{source} is not a private key (expected 64 hex digits, optionally 0x-prefixed; got {len(body)} "
            "characters); fix the value — it is never printed"
        )
    try:
        return Signer(Account.from_key("0x" + body), source)
    except Exception:  # eth_keys rejects zero / out-of-range scalars
        raise SignerError(
            f"{source} is not a valid secp256k1 private key; fix the value — it is never printed"
        ) from None


def from_keystore(
    path: Path, *, password: str | None = None, password_file: Path | None = None, env: Mapping[str, str] | None = None
) -> Signer:
    env = os.environ if env is None else env
    if password is None and password_file is None and env.get(ENV_KEYSTORE_PASSWORD_FILE):
        password_file = Path(env[ENV_KEYSTORE_PASSWORD_FILE])
    if password is None and password_file is not None:
        try:
            password = password_file.read_text().rstrip("\n")
        except OSError as err:
            raise SignerError(
                f"keystore password file {password_file} cannot be read ({err.strerror}); fix the path"
            ) from None
    if password is None:
        password = env.get(ENV_KEYSTORE_PASSWORD)
    if password is None:
        raise SignerError(
            f"keystore {path} needs a password: set ${ENV_KEYSTORE_PASSWORD} or ${ENV_KEYSTORE_PASSWORD_FILE}"
        )
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SignerError(f"keystore {path} does not exist; pass the path of an encrypted JSON keystore") from None
    except json.JSONDecodeError:
        raise SignerError(
            f"keystore {path} is not JSON; pass an encrypted JSON keystore (web3 secret storage)"
        ) from None
    try:
        key = Account.decrypt(data, password)
    except ValueError:
        raise SignerError(f"keystore {path} could not be decrypted: wrong password or corrupt file") from None
    return Signer(Account.from_key(key), f"keystore {path}")


def from_dev_account(devnet_dir: Path, index: int) -> Signer:
    from linq.devnet import anvil

    if not 0 <= index < anvil.DEV_ACCOUNTS:
        raise SignerError(
            f"dev account index {index} is out of range; use 0..{anvil.DEV_ACCOUNTS - 1} (0 is the deployer)"
        )
    key = anvil.dev_keys(Path(devnet_dir))[index]
    return Signer(Account.from_key(key), f"devnet dev account {index}")


def resolve_signer(
    *,
    key: str | None = None,
    key_source: str = "linq:signerKey",
    keystore: Path | str | None = None,
    keystore_password: str | None = None,
    dev_account: int | None = None,
    dev_account_source: str = "linq:devAccount",
    devnet_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Signer:
    """One signer from the configured sources.

    Keys: an explicit key wins over $LINQ_PRIVATE_KEY, which wins over a keystore. A dev account (the
    argument, else $LINQ_DEV_ACCOUNT) together with any key is a conflict, refused naming both (a stack
    that names its payer is never paid from a key it did not name), unless both are the same account.
    """
    env = os.environ if env is None else env
    dev_source = dev_account_source
    if dev_account is None and env.get(ENV_DEV_ACCOUNT, "").strip():
        raw = env[ENV_DEV_ACCOUNT].strip()
        if not raw.isdigit():
            raise SignerError(f"${ENV_DEV_ACCOUNT}={raw!r} is not a dev account index; use 0..9, e.g. 2")
        dev_account, dev_source = int(raw), f"${ENV_DEV_ACCOUNT}"
    keystore = keystore or env.get(ENV_KEYSTORE)
    keyed: Signer | None = None
    if key:
        keyed = from_key(key, source=key_source)
    elif env.get(ENV_KEY):
        keyed = from_key(env[ENV_KEY], source=f"${ENV_KEY}")
    elif keystore and dev_account is None:
        return from_keystore(Path(keystore), password=keystore_password, env=env)
    elif keystore:
        raise SignerError(
            f"two payers configured: {dev_source}={dev_account} and the keystore {keystore} "
            f"(${ENV_KEYSTORE} or linq:keystore); remove one of the two"
        )
    if dev_account is not None:
        if devnet_dir is None:
            if keyed is not None:
                return keyed  # a dev index means nothing off the devnet: the key is the only payer
            raise SignerError(
                f"{dev_source}={dev_account}: a dev account index only works on the devnet profile "
                "(pass --devnet-dir or set linq:network kind devnet); use a key or keystore for other networks"
            )
        dev = from_dev_account(devnet_dir, dev_account)
        if keyed is not None and keyed.address != dev.address:
            raise SignerError(
                f"two payers configured: {dev_source}={dev_account} ({dev.address}) and {keyed.source} "
                f"({keyed.address}); remove one of the two (unset ${ENV_KEY} to pay from the dev account)"
            )
        return keyed or dev
    if keyed is not None:
        return keyed
    raise SignerError(
        f"no signing key: set the secret stack config `pulumi config set --secret {key_source} ...`, "
        f"or ${ENV_KEY}, or ${ENV_KEYSTORE} (+ ${ENV_KEYSTORE_PASSWORD}), or on the devnet a dev account index"
    )
