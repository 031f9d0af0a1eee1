"""The agent's state file: a faithful round trip (the escrow id survives), atomic writes, and a fresh start
(with a note saying why) when the file is corrupt or belongs to another chain, contract or provider."""

from __future__ import annotations

import json
from pathlib import Path

from linq.agent import state as state_file
from linq.agent.state import AgentState
from linq.contracts.terms import Resources, Terms

PROVIDER = "0x" + "ab" * 20
ESCROW = "0x" + "12" * 20


def sample_terms(salt_byte: int = 7) -> Terms:
    return Terms(
        "0x" + "cd" * 20,
        PROVIDER,
        Resources(1500, 2048, 20, 3, 1),
        12_345_678_901_234_567_890_123,
        bytes([salt_byte]) * 32,
    )


def test_round_trip_keeps_ids_amounts_and_cursor(tmp_path: Path) -> None:
    terms = sample_terms()
    eid = "0x" + terms.escrow_id.hex()
    saved = AgentState(
        31337, ESCROW, PROVIDER, scanned_block=99, escrows={eid: terms}, done={eid}, last_withdraw_at=1_700_000_000
    )
    path = tmp_path / "agent.json"
    state_file.save(path, saved)
    loaded = state_file.load(
        path, chain_id=31337, escrow_contract=ESCROW.upper().replace("0X", "0x"), provider=PROVIDER
    )
    assert loaded.note == ""
    back = loaded.state
    assert back.escrows[eid] == terms and back.escrows[eid].escrow_id == terms.escrow_id
    assert (back.scanned_block, back.done, back.last_withdraw_at) == (99, {eid}, 1_700_000_000)
    # The rate is stored as a string, so readers with doubles cannot round it.
    assert json.loads(path.read_text())["escrows"][eid]["rate_per_hour"] == "12345678901234567890123"
    assert [p.name for p in tmp_path.iterdir()] == ["agent.json"]  # no temp file left behind


def test_missing_file_is_a_fresh_state_without_a_note(tmp_path: Path) -> None:
    loaded = state_file.load(tmp_path / "none.json", chain_id=1, escrow_contract=ESCROW, provider=PROVIDER)
    assert loaded.note == "" and loaded.state.scanned_block == -1 and loaded.state.escrows == {}


def test_corrupt_file_starts_fresh_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    path.write_text('{"version": 1, "chain_id": ')
    loaded = state_file.load(path, chain_id=1, escrow_contract=ESCROW, provider=PROVIDER)
    assert loaded.state.scanned_block == -1
    assert str(path) in loaded.note and "rescanning from the chain" in loaded.note


def test_wrong_version_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    data = AgentState(1, ESCROW, PROVIDER, scanned_block=5).to_json()
    data["version"] = 99
    path.write_text(json.dumps(data))
    loaded = state_file.load(path, chain_id=1, escrow_contract=ESCROW, provider=PROVIDER)
    assert loaded.state.scanned_block == -1 and "version 99" in loaded.note


def test_state_of_another_chain_contract_or_provider_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    state_file.save(path, AgentState(1, ESCROW, PROVIDER, scanned_block=50))
    for chain_id, escrow, provider in (
        (2, ESCROW, PROVIDER),
        (1, "0x" + "34" * 20, PROVIDER),
        (1, ESCROW, "0x" + "ef" * 20),
    ):
        loaded = state_file.load(path, chain_id=chain_id, escrow_contract=escrow, provider=provider)
        assert loaded.state.scanned_block == -1
        assert loaded.state.chain_id == chain_id and "starting fresh" in loaded.note
    assert state_file.load(path, chain_id=1, escrow_contract=ESCROW, provider=PROVIDER).state.scanned_block == 50


def test_save_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "agent.json"
    state_file.save(path, AgentState(1, ESCROW, PROVIDER, scanned_block=1))
    first_inode = path.stat().st_ino
    state_file.save(path, AgentState(1, ESCROW, PROVIDER, scanned_block=2))
    assert path.stat().st_ino != first_inode  # a new file renamed over the old one, never written in place
    assert json.loads(path.read_text())["scanned_block"] == 2
    state_file.save(None, AgentState(1, ESCROW, PROVIDER))  # no file configured: nothing written
