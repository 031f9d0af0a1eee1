"""Bad input to the Blockchain API, table-driven against a real anvil and the real contracts: each case gets a
4xx JSON refusal naming the field (where there is one), the value and the fix, and changes nothing — no
block is mined, no nonce, balance, allowance or escrow moves, no API key appears or disappears. Then the
rate limit (429 with Retry-After) and CORS (off by default, on for a configured origin)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import rlp
from eth_account import Account
from web3 import Web3

from linq.api.keys import SqliteKeyStore
from linq.api.routes import PREFIX
from linq.devnet.accounts import fresh_wallet
from tests.integration.api_world import ApiServer, Reply, World, http, running_world

pytestmark = pytest.mark.integration
NOBODY = "0x" + "ab" * 20
UNKNOWN_ESCROW = "0x" + "12" * 32


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: Any = None
    raw: bytes | None = None
    key: str = "good"  # good | none | revoked | garbage | basic
    status: int = 400
    field: str | None = None
    says: str = ""  # a fragment of the message


class Fixture:
    def __init__(self, world: World) -> None:
        self.world = world
        self.escrow = world.escrow()
        self.broke_key, broke = fresh_wallet(world.bank, lnq=0, eth=0)
        self.broke = broke.address

    def signed(self, private_key: str, *, to: str | None = None, chain_id: int | None = None, data: str = "0x") -> str:
        w = self.world
        tx = {
            "to": Web3.to_checksum_address(to or w.bank.escrow.address),
            "data": data,
            "value": 0,
            "gas": 100_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
            "chainId": chain_id or w.bank.chain_id,
            "nonce": 0,
            "type": 2,
        }
        return "0x" + bytes(Account.sign_transaction(tx, private_key).raw_transaction).hex()

    def bad_signature(self) -> str:
        raw = bytes.fromhex(self.signed(self.world.requestor_key)[2:])
        fields = rlp.decode(raw[1:])
        fields[-1] = b""  # s = 0: no signer can be recovered
        return "0x" + (raw[:1] + rlp.encode(fields)).hex()

    def snapshot(self) -> dict[str, Any]:
        w, r = self.world, self.world.requestor
        state = w.get(f"{PREFIX}/escrow/{self.escrow}").body["escrow"]
        return {
            "block": w.w3.eth.block_number,
            "nonces": [
                w.w3.eth.get_transaction_count(a, "pending") for a in (r.address, w.provider.address, self.broke)
            ],
            "lnq": [r.lnq_balance(r.address), r.lnq_balance(w.bank.escrow.address)],
            "allowance": r.allowance(r.address),
            "escrow": (state["status"], state["deposited"], state["withdrawn"]),
            "keys": [k.to_json() for k in SqliteKeyStore(w.keys_file).list()],
        }


E = "/escrow/{escrow}"
CASES: dict[str, Callable[[Fixture], Case]] = {
    # bodies
    "malformed JSON": lambda f: Case("POST", "/escrow/create", raw=b'{"from": ', field="body", says="not JSON"),
    "body is a list": lambda f: Case("POST", "/escrow/create", body=[1, 2], field="body", says="not a JSON object"),
    "huge body": lambda f: Case(
        "POST", "/escrow/create", raw=b'{"x": "' + b"a" * 200_000 + b'"}', status=413, field="body"
    ),
    "unknown field": lambda f: Case(
        "POST", "/escrow/create", body={"from": f.world.requestor.address, "colour": "red"}, field="colour"
    ),
    "missing from": lambda f: Case("POST", "/escrow/create", body={"provider": NOBODY}, field="from", says="missing"),
    "from is a number": lambda f: Case("POST", "/escrow/create", body={"from": 12}, field="from", says="not a string"),
    "bad from address": lambda f: Case(
        "POST", "/escrow/create", body={"from": "0x1234"}, field="from", says="not an Ethereum address"
    ),
    # create
    "unknown plan": lambda f: Case(
        "POST",
        "/escrow/create",
        body={"from": f.world.requestor.address, "provider": f.world.provider.address, "plan": "huge"},
        field="plan",
        says="huge",
    ),
    "cpu not a quantity": lambda f: Case(
        "POST",
        "/escrow/create",
        body={"from": f.world.requestor.address, "provider": f.world.provider.address, "cpu": "lots"},
        field="cpu",
    ),
    "duration without unit sense": lambda f: Case(
        "POST",
        "/escrow/create",
        body={
            "from": f.world.requestor.address,
            "provider": f.world.provider.address,
            "cpu": "1",
            "duration": "forever",
        },
        field="duration",
    ),
    "unregistered provider": lambda f: Case(
        "POST",
        "/escrow/create",
        body={"from": f.world.requestor.address, "provider": NOBODY, "cpu": "1"},
        status=409,
        field="provider",
    ),
    "more CPU than free": lambda f: Case(
        "POST",
        "/escrow/create",
        body={"from": f.world.requestor.address, "provider": f.world.provider.address, "cpu": "64"},
        status=409,
        field="provider",
        says="CPU",
    ),
    "payer without LNQ": lambda f: Case(
        "POST",
        "/escrow/create",
        body={"from": f.broke, "provider": f.world.provider.address, "cpu": "1"},
        status=409,
        field="from",
        says="holds 0 LNQ",
    ),
    "unit-less deposit": lambda f: Case(
        "POST",
        "/escrow/create",
        body={"from": f.world.requestor.address, "provider": f.world.provider.address, "cpu": "1", "deposit": "5"},
        field="deposit",
    ),
    "malformed salt": lambda f: Case(
        "POST",
        "/escrow/create",
        body={"from": f.world.requestor.address, "provider": f.world.provider.address, "cpu": "1", "salt": "0x12"},
        field="salt",
    ),
    "tampered offer": lambda f: Case(
        "POST",
        "/escrow/create",
        body={"from": f.world.requestor.address, "offer": {"offer": {"provider": NOBODY}, "signature": "0x00"}},
        field="offer",
    ),
    # top-up and the other builders
    "negative amount": lambda f: Case(
        "POST", E + "/fund", body={"from": f.world.requestor.address, "amount": "-1 LNQ"}, field="amount"
    ),
    "unit-less amount": lambda f: Case(
        "POST", E + "/fund", body={"from": f.world.requestor.address, "amount": "5"}, field="amount"
    ),
    "zero amount": lambda f: Case(
        "POST", E + "/fund", body={"from": f.world.requestor.address, "amount": "0 LNQ"}, field="amount", says="zero"
    ),
    "amount as a JSON number": lambda f: Case(
        "POST", E + "/fund", body={"from": f.world.requestor.address, "amount": 5}, field="amount"
    ),
    "malformed escrow id": lambda f: Case(
        "POST", "/escrow/0x1234/stop", body={"from": f.world.requestor.address}, field="escrow_id"
    ),
    "unknown escrow id": lambda f: Case(
        "POST",
        f"/escrow/{UNKNOWN_ESCROW}/withdraw",
        body={"from": f.world.requestor.address},
        field="escrow_id",
        says="is not an escrow",
    ),
    "start by the requestor": lambda f: Case(
        "POST", E + "/start", body={"from": f.world.requestor.address}, status=409, says="provider"
    ),
    "stop before start": lambda f: Case(
        "POST", E + "/stop", body={"from": f.world.requestor.address}, status=409, says="rejected by the chain"
    ),
    "finalize before end": lambda f: Case(
        "POST", E + "/finalize", body={"from": f.world.requestor.address}, status=409, says="rejected by the chain"
    ),
    "provider update, price not a rate": lambda f: Case(
        "POST",
        E + "/provider/update",
        body={"from": f.world.requestor.address, "provider": f.world.provider2.address, "max_price": "cheap"},
        field="max_price",
    ),
    # keys
    "no API key": lambda f: Case(
        "POST",
        E + "/withdraw",
        body={"from": f.world.requestor.address},
        key="none",
        status=401,
        field="Authorization",
        says="missing",
    ),
    "revoked API key": lambda f: Case(
        "POST",
        E + "/withdraw",
        body={"from": f.world.requestor.address},
        key="revoked",
        status=401,
        field="Authorization",
    ),
    "made-up API key": lambda f: Case(
        "POST",
        E + "/withdraw",
        body={"from": f.world.requestor.address},
        key="garbage",
        status=401,
        field="Authorization",
    ),
    "Basic instead of Bearer": lambda f: Case(
        "POST",
        E + "/withdraw",
        body={"from": f.world.requestor.address},
        key="basic",
        status=401,
        field="Authorization",
    ),
    # relay
    "raw is not hex": lambda f: Case("POST", "/tx/submit", body={"raw": "hello"}, field="raw"),
    "raw undecodable": lambda f: Case(
        "POST", "/tx/submit", body={"raw": "0x02deadbeef"}, field="raw", says="not a signed"
    ),
    "bad signature": lambda f: Case(
        "POST", "/tx/submit", body={"raw": f.bad_signature()}, field="raw", says="signature"
    ),
    "signed for another chain": lambda f: Case(
        "POST",
        "/tx/submit",
        body={"raw": f.signed(f.world.requestor_key, chain_id=1)},
        field="raw",
        says="another chain",
    ),
    "to a foreign contract": lambda f: Case(
        "POST",
        "/tx/submit",
        body={"raw": f.signed(f.world.requestor_key, to=NOBODY)},
        field="raw",
        says="not addressed",
    ),
    "sender without gas money": lambda f: Case(
        "POST", "/tx/submit", body={"raw": f.signed(f.broke_key)}, status=409, field="raw", says="refused by the node"
    ),
    # reads
    "bad provider address": lambda f: Case("GET", "/registry/providers/0x123", field="address"),
    "unknown provider": lambda f: Case("GET", f"/registry/providers/{NOBODY}", status=404, field="address"),
    "GPU class not a number": lambda f: Case(
        "GET", f"/registry/providers/{f.world.provider.address}/gpu-classes/x", field="class_id"
    ),
    "unknown GPU class": lambda f: Case(
        "GET", f"/registry/providers/{f.world.provider.address}/gpu-classes/9", status=404, field="class_id"
    ),
    "page limit 0": lambda f: Case("GET", "/registry/providers?limit=0", field="limit"),
    "unknown template": lambda f: Case("GET", "/templates/no-such-app", status=404, field="template_id"),
    "unknown category": lambda f: Case("GET", "/templates?category=toys", field="category"),
    "render unknown template": lambda f: Case("POST", "/render", body={"template": "no-such-app"}, field="template"),
    "render env not a map": lambda f: Case(
        "POST", "/render", body={"template": "postgresql", "env": ["A=1"]}, field="env"
    ),
    "estimate without resources": lambda f: Case("GET", "/estimate?duration=1h", field="plan"),
    "estimate price not a rate": lambda f: Case("GET", "/estimate?cpu=1&max_price=cheap", field="max_price"),
    "match reputation out of range": lambda f: Case("GET", "/match?cpu=1&min_reputation=2", field="min_reputation"),
    "match unknown parameter": lambda f: Case("GET", "/match?cpu=1&colour=red", field="colour"),
    "match bad GPU count": lambda f: Case("GET", "/match?gpu=nvidia-a100:zero", field="gpu"),
    "fund preview without amount": lambda f: Case("GET", E + "/fund/preview", field="amount"),
    "unknown route": lambda f: Case("GET", "/nothing/here", status=404, field="path"),
    "wrong method": lambda f: Case("DELETE", "/plans", status=405, field="method"),
}


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    with running_world(tmp_path_factory.mktemp("api-refusals")) as world:
        yield Fixture(world)


def _send(fx: Fixture, case: Case) -> Reply:
    w = fx.world
    headers = {}
    key: str | None = {
        "good": w.key,
        "revoked": w.revoked_key,
        "garbage": "lq_0badc0de_nope",
        "none": None,
        "basic": None,
    }[case.key]
    if case.key == "basic":
        headers["Authorization"] = "Basic dXNlcjpwYXNz"
    path = PREFIX + case.path.replace("{escrow}", fx.escrow)
    return http(w.server.base, case.method, path, case.body, key=key, raw=case.raw, headers=headers)


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_and_changes_nothing(fx: Fixture, name: str) -> None:
    case = CASES[name](fx)
    before = fx.snapshot()
    reply = _send(fx, case)
    assert reply.status == case.status, (name, reply.status, reply.body)
    assert reply.headers.get("content-type", "").startswith("application/json")
    body = reply.body
    assert set(body) >= {"error", "field", "value", "problem", "fix", "message"}, body
    assert body["message"], body
    if case.field is not None:
        assert body["field"] == case.field, body
        assert body["fix"], body
    assert case.says in body["message"], body
    assert fx.snapshot() == before, f"{name} changed something"


def test_rate_limit_and_cors(fx: Fixture, tmp_path: Any) -> None:
    w = fx.world
    plain = http(w.server.base, "GET", PREFIX + "/plans", headers={"Origin": "https://dash.example"})
    assert plain.status == 200 and "access-control-allow-origin" not in {k.lower() for k in plain.headers}

    limited = ApiServer(
        w.url,
        w.book_file,
        w.keys_file,
        tmp_path / "limited.log",
        "--rate",
        "0.2",
        "--burst",
        "3",
        "--cors-origin",
        "https://dash.example",
    )
    try:
        before = fx.snapshot()
        replies = [
            http(limited.base, "GET", PREFIX + "/plans", headers={"Origin": "https://dash.example"}) for _ in range(4)
        ]
        assert [r.status for r in replies[:3]] == [200, 200, 200]
        assert replies[0].headers.get("access-control-allow-origin") == "https://dash.example"
        refused = replies[3]
        assert refused.status == 429 and refused.body["field"] == "client" and int(refused.headers["retry-after"]) >= 1
        assert fx.snapshot() == before
    finally:
        limited.stop()
