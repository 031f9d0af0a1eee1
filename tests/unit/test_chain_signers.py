"""Signers come from config, env or an encrypted keystore; no message, repr or pickle ever shows the key."""

from __future__ import annotations

import json
import pickle

import pytest
from eth_account import Account

from linq.chain.errors import SignerError
from linq.chain.signers import ENV_KEY, from_key, from_keystore, resolve_signer

KEY = "0x" + "4c" * 32


def test_key_from_config_wins_over_env() -> None:
    other = "0x" + "5d" * 32
    signer = resolve_signer(key=KEY, env={ENV_KEY: other})
    assert signer.address == Account.from_key(KEY).address
    assert signer.source == "linq:signerKey"
    assert resolve_signer(env={ENV_KEY: other}).address == Account.from_key(other).address


def test_bad_key_message_never_contains_the_value() -> None:
    secret = "0x" + "ab" * 31 + "zz"
    with pytest.raises(SignerError) as err:
        from_key(secret, source="$LINQ_PRIVATE_KEY")
    assert "ab" * 31 not in str(err.value)
    assert "$LINQ_PRIVATE_KEY" in str(err.value) and "64 hex digits" in str(err.value)
    with pytest.raises(SignerError):
        from_key("0x" + "00" * 32, source="k")  # zero is not a valid scalar


def test_repr_and_pickle_hide_the_key() -> None:
    signer = from_key(KEY, source="test")
    assert KEY[2:] not in repr(signer) and signer.address in repr(signer)
    with pytest.raises(TypeError, match="never serialised"):
        pickle.dumps(signer)


def test_keystore_with_password_env_and_file(tmp_path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(KEY, "pw", kdf="pbkdf2", iterations=2)))
    expected = Account.from_key(KEY).address
    assert from_keystore(path, env={"LINQ_KEYSTORE_PASSWORD": "pw"}).address == expected
    pwfile = tmp_path / "pw"
    pwfile.write_text("pw\n")
    assert from_keystore(path, password_file=pwfile, env={}).address == expected
    assert (
        resolve_signer(env={"LINQ_KEYSTORE": str(path), "LINQ_KEYSTORE_PASSWORD_FILE": str(pwfile)}).address == expected
    )
    with pytest.raises(SignerError, match="wrong password"):
        from_keystore(path, password="nope", env={})
    with pytest.raises(SignerError, match="needs a password"):
        from_keystore(path, env={})
    with pytest.raises(SignerError, match="does not exist"):
        from_keystore(tmp_path / "missing.json", password="pw", env={})


def test_no_source_names_every_option() -> None:
    with pytest.raises(SignerError) as err:
        resolve_signer(env={})
    for hint in ("linq:signerKey", "LINQ_PRIVATE_KEY", "LINQ_KEYSTORE"):
        assert hint in str(err.value)
    with pytest.raises(SignerError, match="only works on the devnet"):
        resolve_signer(dev_account=3, env={})
