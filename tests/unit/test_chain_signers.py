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


# ---- dev account vs key: explicit precedence, a conflict names both ---------------------------------------
def test_dev_account_and_a_different_key_is_a_conflict_naming_both(tmp_path) -> None:
    from linq.devnet import anvil

    dev2 = anvil.dev_addresses(tmp_path)[2]
    with pytest.raises(SignerError) as err:
        resolve_signer(dev_account=2, devnet_dir=tmp_path, env={ENV_KEY: KEY})
    message = str(err.value)
    assert "linq:devAccount=2" in message and dev2 in message
    assert "$LINQ_PRIVATE_KEY" in message and Account.from_key(KEY).address in message
    assert KEY[2:] not in message  # never the key itself
    with pytest.raises(SignerError, match=r"\$LINQ_DEV_ACCOUNT=2 .* and linq:signerKey"):
        resolve_signer(key=KEY, devnet_dir=tmp_path, env={"LINQ_DEV_ACCOUNT": "2"})
    with pytest.raises(SignerError, match=r"--dev-key-index=1 and the keystore"):
        resolve_signer(
            dev_account=1,
            dev_account_source="--dev-key-index",
            devnet_dir=tmp_path,
            env={"LINQ_KEYSTORE": str(tmp_path / "k.json")},
        )


def test_dev_account_alone_or_with_its_own_key(tmp_path) -> None:
    from linq.devnet import anvil

    keys = anvil.dev_keys(tmp_path)
    alone = resolve_signer(dev_account=2, devnet_dir=tmp_path, env={})
    assert alone.address == Account.from_key(keys[2]).address and alone.source == "devnet dev account 2"
    same = resolve_signer(dev_account=2, devnet_dir=tmp_path, env={ENV_KEY: "0x" + keys[2].removeprefix("0x")})
    assert same.address == alone.address
    from_env = resolve_signer(devnet_dir=tmp_path, env={"LINQ_DEV_ACCOUNT": "3"})
    assert from_env.address == Account.from_key(keys[3]).address
    with pytest.raises(SignerError, match=r"\$LINQ_DEV_ACCOUNT='two' is not a dev account index"):
        resolve_signer(devnet_dir=tmp_path, env={"LINQ_DEV_ACCOUNT": "two"})
    with pytest.raises(SignerError, match=r"\$LINQ_DEV_ACCOUNT=1: a dev account index only works on the devnet"):
        resolve_signer(env={"LINQ_DEV_ACCOUNT": "1"})
