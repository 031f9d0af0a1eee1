"""The Blockchain API against a real anvil with the real contracts, served by `linq api serve`: every read
endpoint, every transaction builder (built by the API, signed here with a dev key as a wallet would, relayed
by the API's submit, checked on chain), the OpenAPI document, and the keys CLI."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from openapi_spec_validator import validate

from linq.api.routes import ENDPOINTS, PREFIX
from linq.catalog.output import MASK
from linq.chain import escrows as ops
from linq.cli import main as linq_cli
from linq.devnet.accounts import advance
from linq.market.models import Resources, rate_at
from linq.market.offers import Domain, Offer, sign_offer
from linq.protocol.money import deposit_for
from tests.integration.api_world import LNQ, World, running_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("api")) as w:
        yield w


def test_the_openapi_document_validates_and_lists_every_endpoint(world: World) -> None:
    reply = world.get(f"{PREFIX}/openapi.json")
    assert reply.status == 200
    validate(reply.body)
    for ep in ENDPOINTS:
        op = reply.body["paths"][PREFIX + ep.path][ep.method.lower()]
        assert ("security" in op) == ep.auth, ep.path


def test_registry_reads(world: World) -> None:
    listed = world.get(f"{PREFIX}/registry/providers").body
    assert listed["total"] == 2 and listed["index"]["providers"] == 2
    row = next(p for p in listed["providers"] if p["address"] == world.provider.address)
    assert row["total"] == {"cpu_millis": 8000, "memory_mib": 16384, "storage_gib": 200}
    assert row["gpu_classes"] == [{"class_id": 1, "model": "nvidia-a100", "free": 2, "total": 2}]
    full = world.get(f"{PREFIX}/registry/providers?full=true&limit=1&offset=1").body
    assert len(full["providers"]) == 1 and "meta_hash" in full["providers"][0]

    shown = world.get(f"{PREFIX}/registry/providers/{world.provider.address.lower()}").body["provider"]
    assert shown["address"] == world.provider.address and shown["region"] == "eu-west"
    assert shown["prices"]["cpu_per_milli_hour"] == str(10**12)

    gpu = world.get(f"{PREFIX}/registry/providers/{world.provider.address}/gpu-classes/1").body["gpu_class"]
    assert gpu["model"] == "nvidia-a100" and gpu["price_per_hour"] == str(10**15) and gpu["free"] == 2


def test_catalog_reads(world: World) -> None:
    templates = world.get(f"{PREFIX}/templates").body
    assert "database" in templates["categories"] and len(templates["templates"]) > 10
    first = templates["templates"][0]["id"]
    one = world.get(f"{PREFIX}/templates/{first}").body["template"]
    assert one["id"] == first
    searched = world.get(f"{PREFIX}/templates?q=postgres").body["templates"]
    assert "postgresql" in [t["id"] for t in searched] and len(searched) < len(templates["templates"])
    databases = world.get(f"{PREFIX}/templates?category=database").body["templates"]
    assert databases and {t["category"] for t in databases} == {"database"}
    plans = world.get(f"{PREFIX}/plans").body["plans"]
    assert [p["name"] for p in plans][:2] == ["starter", "basic"]

    got = world.get(f"{PREFIX}/render?template=postgresql&plan=standard&name=orders").body["manifests"]
    kinds = {m["kind"] for m in got}
    assert {"StatefulSet", "Secret"} <= kinds or {"Deployment", "Secret"} <= kinds
    secrets = [m for m in got if m["kind"] == "Secret"]
    assert secrets and all(v == MASK for m in secrets for v in (m.get("stringData") or m.get("data") or {}).values())
    posted = world.post(
        f"{PREFIX}/render", {"template": "postgresql", "name": "orders", "plan": "standard"}, key=None
    ).body
    names = sorted((m["kind"], m["metadata"]["name"]) for m in posted["manifests"])
    assert names == sorted((m["kind"], m["metadata"]["name"]) for m in got)


def test_estimate_is_exact_and_match_explains(world: World) -> None:
    q = "cpu=2&memory=4Gi&storage=20Gi&duration=3h"
    est = world.get(f"{PREFIX}/estimate?{q}&provider={world.provider.address}").body
    rate = rate_at(Resources(cpu_millis=2000, memory_mib=4096, storage_gib=20), _record(world, world.provider.address))
    assert est["rate_per_hour_wei"] == str(rate)
    assert est["deposit_wei"] == str(deposit_for(rate, 3 * 3600))
    assert est["min_prepaid_seconds"] == 600

    matched = world.get(f"{PREFIX}/match?cpu=4&memory=8Gi&duration=1h").body
    assert [c["provider"] for c in matched["candidates"]] == [world.provider.address]
    assert matched["rejected_total"] == 1 and matched["rejection_counts"] == {
        "insufficient_cpu": 1,
        "insufficient_memory": 1,
    }
    rejected = {r["provider"]: r for r in matched["rejected"]}
    reasons = [reason["message"] for reason in rejected[world.provider2.address]["reasons"]]
    assert any("CPU" in m for m in reasons), reasons


def _record(world: World, address: str) -> Any:
    from linq.market.index import RegistryIndex

    index = RegistryIndex(world.w3, world.bank.registry.address, escrow_address=world.bank.escrow.address)
    index.build()
    return next(p for p in index.providers if p.address == address)


def _escrow(world: World, escrow_id: str) -> dict[str, Any]:
    reply = world.get(f"{PREFIX}/escrow/{escrow_id}")
    assert reply.status == 200, reply.body
    return reply.body["escrow"]


def test_a_built_escrow_lives_its_whole_life_through_the_api(world: World) -> None:
    """create (approve + create, signed here) -> fund preview -> top-up -> start (provider) -> withdraw ->
    stop; each step's effect is read back from the chain itself, to the wei."""
    r = world.requestor
    balance0 = r.lnq_balance(r.address)
    built = world.post(
        f"{PREFIX}/escrow/create",
        {
            "from": r.address,
            "provider": world.provider.address,
            "cpu": "1",
            "memory": "1Gi",
            "storage": "10Gi",
            "duration": "2h",
        },
    ).body
    assert [t["description"].split()[0] for t in built["transactions"]] == ["approve", "create"]
    assert "create escrow of" in built["summary"]
    receipts = world.sign_and_submit(built, world.requestor_key)
    assert [e["event"] for e in receipts[1]["events"]].count("EscrowCreated") == 1
    escrow_id = built["escrow_id"]
    terms = ops.find_by_id(world.bank, bytes.fromhex(escrow_id[2:]))
    assert terms is not None and terms.requestor == r.address
    deposit = int(built["deposit_wei"])
    assert deposit == deposit_for(int(built["rate_per_hour_wei"]), 7200)
    assert r.lnq_balance(r.address) == balance0 - deposit
    assert r.allowance(r.address) == 0  # exactly what create pulled was approved
    state = _escrow(world, escrow_id)
    assert state["status"] == "Created" and state["deposited"] == str(deposit)

    preview = world.get(f"{PREFIX}/escrow/{escrow_id}/fund/preview?amount=1%20LNQ").body
    assert preview["needs_approve"] and preview["enough_balance"] and preview["payer"] == r.address
    topped = world.post(f"{PREFIX}/escrow/{escrow_id}/fund", {"from": r.address, "amount": "1 LNQ"}).body
    world.sign_and_submit(topped, world.requestor_key)
    assert _escrow(world, escrow_id)["deposited"] == str(deposit + LNQ)
    assert int(preview["runway_after_seconds"]) == int(_escrow(world, escrow_id)["runway"])

    started = world.post(f"{PREFIX}/escrow/{escrow_id}/start", {"from": world.provider.address}).body
    world.sign_and_submit(started, world.provider_key)
    assert _escrow(world, escrow_id)["status"] == "Active"

    advance(world.bank, 1800)
    withdrawn = world.post(f"{PREFIX}/escrow/{escrow_id}/withdraw", {"from": world.provider.address}).body
    receipts = world.sign_and_submit(withdrawn, world.provider_key)
    assert any(e["event"] == "Withdrawn" for e in receipts[0]["events"])
    assert int(_escrow(world, escrow_id)["withdrawn"]) > 0

    stopped = world.post(f"{PREFIX}/escrow/{escrow_id}/stop", {"from": r.address}).body
    receipts = world.sign_and_submit(stopped, world.requestor_key)
    final = _escrow(world, escrow_id)
    assert final["status"] == "Stopped" and final["settlement"]["event"] == "Stopped"
    assert final["settlement"]["tx"] == receipts[0]["tx_hash"]

    used = world.get(f"{PREFIX}/registry/providers/{world.provider.address}/used").body
    assert escrow_id not in used["open_escrows"] and used["used"]["cpu_millis"] == 0


def test_an_offer_escrow_moves_provider_and_is_finalized(world: World) -> None:
    """verify an offer, create from it, move it to another provider (registry prices), start, end, finalize."""
    r = world.requestor
    offer = sign_offer(
        Offer(
            provider=world.provider.address,
            requestor="0x" + "00" * 20,
            resources=Resources(cpu_millis=500, memory_mib=512, storage_gib=5),
            rate_per_hour=10**15,
            min_duration=600,
            max_duration=86400,
            nonce=uuid.uuid4().int >> 64,
            deadline=world.bank.now() + 3600,
        ),
        Domain(chain_id=world.bank.chain_id, verifying_contract=world.bank.escrow.address),
        world.provider_key,
    )
    offer_json = json.loads(offer.to_json())
    verified = world.post(f"{PREFIX}/escrow/offers/verify", {"offer": offer_json}, key=None).body
    assert verified["ok"] and verified["signer"] == world.provider.address

    built = world.post(f"{PREFIX}/escrow/create", {"from": r.address, "offer": offer_json, "duration": "1h"}).body
    assert built["deposit_wei"] == str(10**15)
    world.sign_and_submit(built, world.requestor_key)
    escrow_id = built["escrow_id"]
    assert _escrow(world, escrow_id)["provider"] == world.provider.address

    moved = world.post(
        f"{PREFIX}/escrow/{escrow_id}/provider/update",
        {"from": r.address, "provider": world.provider2.address, "max_price": "1 LNQ/h"},
    ).body
    receipts = world.sign_and_submit(moved, world.requestor_key)
    changed = next(e for e in receipts[0]["events"] if e["event"] == "ProviderChanged")
    new_id = changed["args"]["newId"]
    assert _escrow(world, new_id)["provider"] == world.provider2.address

    world.sign_and_submit(
        world.post(f"{PREFIX}/escrow/{new_id}/start", {"from": world.provider2.address}).body, world.provider2_key
    )
    state = _escrow(world, new_id)
    advance(world.bank, int(state["runway"]) + 60)
    finalized = world.post(f"{PREFIX}/escrow/{new_id}/finalize", {"from": r.address}).body
    world.sign_and_submit(finalized, world.requestor_key)
    assert _escrow(world, new_id)["status"] == "Completed"


def test_submit_reports_a_mined_revert_decoded(world: World) -> None:
    """Two stops signed for one escrow: the first settles it, the second is mined and reverts; the API says why."""
    r = world.requestor
    built = world.post(
        f"{PREFIX}/escrow/create",
        {"from": r.address, "provider": world.provider.address, "plan": "starter", "duration": "1h"},
    ).body
    world.sign_and_submit(built, world.requestor_key)
    escrow_id = built["escrow_id"]
    world.sign_and_submit(
        world.post(f"{PREFIX}/escrow/{escrow_id}/start", {"from": world.provider.address}).body, world.provider_key
    )
    stop = world.post(f"{PREFIX}/escrow/{escrow_id}/stop", {"from": r.address}).body
    second = dict(stop["transactions"][0], nonce=hex(int(stop["transactions"][0]["nonce"], 16) + 1))
    receipts = world.sign_and_submit({"transactions": [stop["transactions"][0], second]}, world.requestor_key)
    assert receipts[0]["status"] == "success"
    assert receipts[1]["status"] == "reverted"
    assert receipts[1]["revert"]["error"] == "WrongStatus", receipts[1]
    assert receipts[1]["revert"]["message"]


def test_keys_cli_creates_lists_and_revokes(world: World, tmp_path: Any) -> None:
    store = str(tmp_path / "keys.sqlite")
    runner = CliRunner()
    created = runner.invoke(linq_cli, ["api", "keys", "create", "ci", "--keys", store, "--json"])
    assert created.exit_code == 0, created.output
    data = json.loads(created.output)
    assert data["key"].startswith("lq_") and data["name"] == "ci"
    listed = runner.invoke(linq_cli, ["api", "keys", "list", "--keys", store, "--json"])
    assert data["key"] not in listed.output and json.loads(listed.output)["keys"][0]["id"] == data["id"]
    assert runner.invoke(linq_cli, ["api", "keys", "revoke", data["id"], "--keys", store]).exit_code == 0
    assert json.loads(runner.invoke(linq_cli, ["api", "keys", "list", "--keys", store, "--json"]).output)["keys"][0][
        "revoked_at"
    ]
    missing = runner.invoke(linq_cli, ["api", "keys", "revoke", "deadbeef", "--keys", store])
    assert missing.exit_code == 2 and "deadbeef" in missing.output
    assert (tmp_path / "keys.sqlite").stat().st_mode & 0o077 == 0
