"""The market against real contracts on a real anvil: offer digests, `linq offer sign` accepted by
createFromOffer, and the registry index (bulk build, incremental updates, rebuild after a reorg)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account import Account
from web3 import Web3
from web3.logs import DISCARD

from linq.chain.deploy import deploy_all
from linq.cli import main as linq_cli
from linq.contracts import AddressBook, contract
from linq.devnet.anvil import LocalAnvil
from linq.devnet.localchain import increase_time
from linq.devnet.seed import ProviderSpec, random_specs, rpc_batch, seed_registry
from linq.market.encoding import region_to_bytes32, text_to_bytes32
from linq.market.index import RegistryIndex
from linq.market.match import match
from linq.market.models import Requirements, Resources
from linq.market.offers import Domain, Offer, SignedOffer, offer_digest

pytestmark = pytest.mark.integration

ANVIL_KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's well-known dev key
LNQ = 10**18
REQUESTOR = "0x00000000000000000000000000000000000A11cE"


@dataclass
class Chain:
    url: str
    w3: Web3
    book: AddressBook
    book_file: Path
    registry: Any
    escrow: Any
    lnq: Any


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with LocalAnvil(ttl_seconds=900) as url:
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
        book = deploy_all(
            w3,
            Account.from_key(ANVIL_KEY0),
            lnq_supply=10**9 * LNQ,
            fund={REQUESTOR: 10**6 * LNQ},
            min_prepaid_seconds=600,
        )
        book_file = tmp_path_factory.mktemp("book") / "addresses.json"
        book_file.write_text(book.model_dump_json())
        yield Chain(
            url,
            w3,
            book,
            book_file,
            contract(w3, "ProviderRegistry", book.registry),
            contract(w3, "Escrow", book.escrow),
            contract(w3, "LNQ", book.lnq),
        )


def send(chain: Chain, sender: str, call: Any) -> Any:
    """One transaction from any address (anvil impersonates it); raises if it reverted."""
    rpc_batch(chain.url, [("anvil_setBalance", [sender, hex(10**21)])])
    tx_hash = call.transact({"from": Web3.to_checksum_address(sender)})
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1, f"transaction from {sender} reverted"
    return receipt


def register(chain: Chain, address: str, region: str = "eu-west") -> None:
    spec = ProviderSpec(
        address=address,
        cpu_millis=16_000,
        memory_mib=65_536,
        storage_gib=500,
        cpu_price=10**13,
        memory_price=10**11,
        storage_price=10**12,
        region=region,
    )
    seed_registry(chain.url, chain.registry, [spec])


def run_cli(args: list[str], env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(linq_cli, args, env=env, catch_exceptions=False)
    return result


def test_python_offer_digest_equals_the_contracts(chain: Chain) -> None:
    domain = Domain(chain_id=chain.w3.eth.chain_id, verifying_contract=chain.book.escrow)
    offers = [
        Offer(
            provider=REQUESTOR,
            resources=Resources(cpu_millis=1),
            rate_per_hour=1,
            min_duration=0,
            max_duration=0,
            nonce=0,
            deadline=0,
        ),
        Offer(
            provider="0x" + "ab" * 20,
            requestor=REQUESTOR,
            resources=Resources(
                cpu_millis=2**32 - 1,
                memory_mib=2**32 - 1,
                storage_gib=2**32 - 1,
                gpu_class=2**16 - 1,
                gpu_count=2**16 - 1,
            ),
            rate_per_hour=2**128 - 1,
            min_duration=2**64 - 2,
            max_duration=2**64 - 1,
            nonce=2**256 - 1,
            deadline=2**64 - 1,
        ),
        Offer(
            provider="0x" + "12" * 20,
            resources=Resources(cpu_millis=1500, memory_mib=2048, storage_gib=20, gpu_class=3, gpu_count=1),
            rate_per_hour=123_456_789_000,
            min_duration=600,
            max_duration=86_400,
            nonce=42,
            deadline=1_900_000_000,
        ),
    ]
    for offer in offers:
        on_chain = bytes(chain.escrow.functions.offerDigest(offer.as_tuple()).call())
        assert on_chain == offer_digest(offer, domain)
    other = Domain(chain_id=1, verifying_contract=chain.book.escrow)
    assert bytes(chain.escrow.functions.offerDigest(offers[2].as_tuple()).call()) != offer_digest(offers[2], other)


def test_offer_signed_by_the_cli_is_accepted_by_create_from_offer(chain: Chain, tmp_path: Path) -> None:
    provider = Account.create()
    register(chain, provider.address)
    env = {
        "LINQ_RPC_URL": chain.url,
        "LINQ_ADDRESSES": str(chain.book_file),
        "LINQ_PRIVATE_KEY": provider.key.hex(),
    }
    index_file, offer_file = tmp_path / "index.json", tmp_path / "offer.json"
    signed_run = run_cli(
        [
            "offer",
            "sign",
            "--cpu",
            "1500m",
            "--memory",
            "2Gi",
            "--storage",
            "10",
            "--requestor",
            REQUESTOR,
            "--min-duration",
            "1h",
            "--max-duration",
            "2d",
            "--index",
            str(index_file),
            "-o",
            str(offer_file),
        ],
        env,
    )
    assert signed_run.exit_code == 0, signed_run.output
    assert provider.key.hex().removeprefix("0x") not in signed_run.output  # the key is never echoed

    signed = SignedOffer.read(offer_file)
    # Default rate = the provider's registry quote for these resources, exactly.
    quote = chain.registry.functions.quote(provider.address, signed.offer.as_tuple()[2]).call()
    assert signed.offer.rate_per_hour == quote == 1500 * 10**13 + 2048 * 10**11 + 10 * 10**12

    verified = run_cli(["offer", "verify", str(offer_file), "--json"], env)
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.output)
    assert report["ok"] and set(report["checked"]) >= {
        "signature",
        "nonce",
        "digest",
        "deadline",
        "domain.chainId",
    }

    deposit = signed.offer.rate_per_hour * 24  # one day at the offer's rate
    send(chain, REQUESTOR, chain.lnq.functions.approve(chain.book.escrow, deposit))
    receipt = send(
        chain,
        REQUESTOR,
        chain.escrow.functions.createFromOffer(signed.offer.as_tuple(), signed.signature_bytes, deposit, b"\x01" * 32),
    )
    (created,) = chain.escrow.events.EscrowCreated().process_receipt(receipt, errors=DISCARD)  # other events
    assert created["args"]["provider"] == provider.address
    assert bytes(created["args"]["offerDigest"]) == signed.digest

    reused = run_cli(["offer", "verify", str(offer_file)], env)
    assert reused.exit_code == 1 and "was already used or revoked" in reused.output

    # The index sees the reservation through EscrowCreated, incrementally.
    index = RegistryIndex(chain.w3, chain.book.registry, cache_path=index_file)
    stats = index.update()
    assert not stats.full
    record = next(p for p in index.providers if p.address == provider.address)
    assert (record.used.cpu_millis, record.used.memory_mib, record.used.storage_gib) == (1500, 2048, 10)


def _expected(spec: ProviderSpec) -> dict[str, Any]:
    return {
        "total": (spec.cpu_millis, spec.memory_mib, spec.storage_gib),
        "prices": (spec.cpu_price, spec.memory_price, spec.storage_price),
        "region": spec.region,
        "meta": "0x" + spec.meta_hash.hex(),
        "gpus": sorted((g.class_id, g.model, g.total, g.price_per_hour) for g in spec.gpus),
    }


def _observed(index: RegistryIndex) -> dict[str, dict[str, Any]]:
    return {
        p.address: {
            "total": (p.total.cpu_millis, p.total.memory_mib, p.total.storage_gib),
            "prices": (
                p.prices.cpu_per_milli_hour,
                p.prices.memory_per_mib_hour,
                p.prices.storage_per_gib_hour,
            ),
            "region": p.region,
            "meta": p.meta_hash,
            "gpus": sorted((g.class_id, g.model, g.total, g.price_per_hour) for g in p.gpu_classes),
        }
        for p in index.providers
    }


def test_index_equals_the_registry_and_follows_every_kind_of_change(chain: Chain, tmp_path: Path) -> None:
    specs = random_specs(50, seed=11, gpu_share=0.4)
    seed_registry(chain.url, chain.registry, specs)
    cache = tmp_path / "index.json"
    index = RegistryIndex(chain.w3, chain.book.registry, cache_path=cache, batch=16, page=7)  # many pages
    stats = index.build()
    assert stats.full and cache.exists()
    observed = _observed(index)
    for spec in specs:
        assert observed[spec.address] == _expected(spec), spec.address
    assert index.staleness().blocks_behind == 0

    # Every kind of change, by providers and through escrows.
    a, b, c, d, e, f, g = (s.address for s in specs[:7])
    reg = chain.registry.functions
    send(chain, a, reg.updateBaseRanges((1, 2, 3)))
    send(chain, b, reg.updateCapacity((1000, 2000, 30)))
    send(chain, c, reg.updateGpuClass(9, text_to_bytes32("nvidia-b200"), 2, 7 * LNQ))
    send(chain, d, reg.deactivate())
    send(chain, e, reg.updateRegion(region_to_bytes32("sa-east")))
    send(chain, f, reg.updateMeta(b"\x77" * 32))
    newcomers = random_specs(2, seed=12, gpu_share=1.0)
    seed_registry(chain.url, chain.registry, newcomers)
    # g gets three escrows: it declines one (capacity back, no reputation change), leaves one unanswered past the
    # start window (cancelled then: counted as cancelled), and the third stays (capacity used).
    units = (500, 1024, 5, 0, 0)
    rate = chain.registry.functions.quote(g, units).call()
    deposit = rate  # an hour
    send(chain, REQUESTOR, chain.lnq.functions.approve(chain.book.escrow, 3 * deposit))
    for salt in (b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32):
        send(chain, REQUESTOR, chain.escrow.functions.create(g, units, deposit, rate, salt))
    send(chain, g, chain.escrow.functions.decline((REQUESTOR, g, units, rate, b"\x0a" * 32)))
    increase_time(chain.w3, chain.escrow.functions.START_WINDOW().call())
    send(chain, REQUESTOR, chain.escrow.functions.cancel((REQUESTOR, g, units, rate, b"\x0c" * 32)))

    head_before = chain.w3.eth.block_number
    assert index.staleness().blocks_behind == head_before - index.snapshot.block_number > 0  # type: ignore[union-attr]
    incremental = RegistryIndex(chain.w3, chain.book.registry, cache_path=cache)
    stats = incremental.update()
    assert not stats.full and stats.reason == "incremental"
    assert stats.changed == 9  # a..g and the two newcomers: only those were re-read
    fresh = RegistryIndex(chain.w3, chain.book.registry)
    fresh.build()
    assert {p.address: p for p in incremental.providers} == {p.address: p for p in fresh.providers}

    by = {p.address: p for p in incremental.providers}
    assert by[a].prices.cpu_per_milli_hour == 1 and by[b].total.storage_gib == 30
    assert ("nvidia-b200", 2) in [(x.model, x.total) for x in by[c].gpu_classes]
    assert not by[d].active and by[e].region == "sa-east" and by[f].meta_hash == "0x" + "77" * 32
    assert (by[g].used.cpu_millis, by[g].used.memory_mib, by[g].used.storage_gib) == (500, 1024, 5)
    assert by[g].reputation.cancelled == 1
    assert all(n.address in by and by[n.address].gpu_classes for n in newcomers)

    # Matching sees the deactivation.
    result = match(incremental.providers, Requirements(cpu_millis=100))
    assert result.rejection(d).codes[0].value == "inactive"  # type: ignore[union-attr]


def test_index_rebuilds_when_its_block_is_reorganised_away(chain: Chain, tmp_path: Path) -> None:
    cache = tmp_path / "index.json"
    snapshot = rpc_batch(chain.url, [("evm_snapshot", [])])[0]
    late = Account.create().address
    register(chain, late)
    index = RegistryIndex(chain.w3, chain.book.registry, cache_path=cache)
    index.build()
    assert index.snapshot is not None and index.snapshot.provider(late) is not None
    rpc_batch(chain.url, [("evm_revert", [snapshot])])
    rpc_batch(chain.url, [("evm_mine", [])] * 3)  # same height again, different blocks

    again = RegistryIndex(chain.w3, chain.book.registry, cache_path=cache)
    stats = again.update()
    assert stats.full and "replaced" in stats.reason
    assert again.snapshot is not None and again.snapshot.provider(late) is None


def test_cli_match_json_agrees_with_the_library(chain: Chain, tmp_path: Path) -> None:
    env = {"LINQ_RPC_URL": chain.url, "LINQ_ADDRESSES": str(chain.book_file)}
    out = run_cli(
        [
            "providers",
            "match",
            "--plan",
            "standard",
            "--region",
            "eu",
            "--duration",
            "24h",
            "--max-price",
            "1 LNQ/h",
            "--json",
            "--index",
            str(tmp_path / "i.json"),
        ],
        env,
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    index = RegistryIndex(chain.w3, chain.book.registry)
    index.build()
    expected = match(
        index.providers,
        Requirements(
            cpu_millis=2000,
            memory_mib=4096,
            storage_gib=58,
            regions=("eu",),
            duration_seconds=86400,
            max_price_per_hour=LNQ,
        ),
    )
    assert [c["provider"] for c in data["candidates"]] == [c.provider for c in expected.candidates]
    assert [int(c["total_cost"]) for c in data["candidates"]] == [c.total_cost for c in expected.candidates]
    assert len(data["rejected"]) == len(expected.rejected) > 0
