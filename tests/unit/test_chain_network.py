"""Network profiles: address books, chain ids and the order in which sources are used."""

from __future__ import annotations

import json

import pytest

from linq.chain.errors import InputError, NetworkConfigError
from linq.chain.network import resolve_profile, rpc_profile

BOOK = {
    "chain_id": 31337,
    "lnq": "0x" + "11" * 20,
    "registry": "0x" + "22" * 20,
    "escrow": "0x" + "33" * 20,
    "deployed_block": 1,
}


def test_rpc_profile_reads_the_book_and_checks_chain_id(tmp_path) -> None:
    path = tmp_path / "addresses.json"
    path.write_text(json.dumps(BOOK))
    profile = rpc_profile("http://127.0.0.1:1", path)
    assert profile.chain_id == 31337 and profile.name == "rpc"
    with pytest.raises(InputError) as err:
        rpc_profile("http://127.0.0.1:1", path, chain_id=1)
    assert "--chain-id" in str(err.value) and "31337" in str(err.value)


def test_bad_books_and_urls_name_the_flag(tmp_path) -> None:
    with pytest.raises(NetworkConfigError, match="does not exist"):
        rpc_profile("http://127.0.0.1:1", tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(NetworkConfigError, match="not JSON"):
        rpc_profile("http://127.0.0.1:1", bad)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"chain_id": 1}))
    with pytest.raises(NetworkConfigError, match="lnq"):
        rpc_profile("http://127.0.0.1:1", partial)
    with pytest.raises(InputError, match="--rpc"):
        rpc_profile("ftp://x", partial)


def test_resolution_order(tmp_path) -> None:
    path = tmp_path / "addresses.json"
    path.write_text(json.dumps(BOOK))
    env = {"LINQ_RPC_URL": "http://127.0.0.1:2", "LINQ_ADDRESSES": str(path)}
    assert resolve_profile(env=env).rpc_url == "http://127.0.0.1:2"
    assert resolve_profile(rpc_url="http://127.0.0.1:3", addresses=path, env=env).rpc_url == "http://127.0.0.1:3"
    with pytest.raises(NetworkConfigError, match="needs --addresses"):
        resolve_profile(rpc_url="http://127.0.0.1:3", env={})
    with pytest.raises(NetworkConfigError, match="no running devnet"):
        resolve_profile(devnet_dir=tmp_path / "nothing", env={})
