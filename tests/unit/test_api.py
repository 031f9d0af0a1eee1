"""The Blockchain API's pure parts: the key store, the rate limiter, the error mapping and the OpenAPI
document (the endpoints themselves run against a real chain in tests/integration/test_api*.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, ValidationError

from linq.api.errors import ApiError, api_field, payload
from linq.api.keys import KeyStoreUnavailable, SqliteKeyStore, open_store, redact, split
from linq.api.limits import RateLimiter
from linq.api.routes import ENDPOINTS, PREFIX, openapi
from linq.chain.errors import RpcUnavailable, TxReverted
from linq.errors import FieldError
from linq.market.plans import PlanError, plan_size
from linq.units import parse_amount, parse_cpu


def test_keys_are_stored_hashed_checked_and_revoked(tmp_path: Path) -> None:
    store = SqliteKeyStore(tmp_path / "k.sqlite")
    info, key = store.create("ci")
    assert split(key) is not None and key.startswith("lq_" + info.id + "_")
    secret = key.split("_", 2)[2]
    assert secret.encode() not in (tmp_path / "k.sqlite").read_bytes()
    assert store.check(key) == info
    assert store.check(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.check("lq_" + info.id + "_") is None and store.check("nonsense") is None
    other = SqliteKeyStore(tmp_path / "k.sqlite")  # a second process sharing the file
    revoked = other.revoke(info.id)
    assert revoked is not None and not revoked.active
    assert store.check(key) is None
    assert other.revoke("ffffffff") is None
    assert (tmp_path / "k.sqlite").stat().st_mode & 0o077 == 0


def test_the_store_is_chosen_by_its_location_and_urls_lose_their_password(tmp_path: Path) -> None:
    assert isinstance(open_store(tmp_path / "k.sqlite"), SqliteKeyStore)
    assert isinstance(open_store(str(tmp_path / "k2.sqlite")), SqliteKeyStore)
    with pytest.raises(FieldError) as err:
        open_store("mysql://root:hunter2@db/keys")
    assert err.value.field == "--keys" and "hunter2" not in str(err.value) and "postgresql://" in str(err.value)
    assert redact("postgresql://api:hunter2@db.example:5432/keys") == "postgresql://api:***@db.example:5432/keys"
    assert redact("postgresql:///keys?host=/run/pg&password=hunter2&user=api") == (
        "postgresql:///keys?host=/run/pg&password=***&user=api"
    )
    assert redact("postgresql://api@db/keys") == "postgresql://api@db/keys"
    refused = payload(KeyStoreUnavailable("the API key store postgresql://db/keys cannot be reached"))
    assert refused is not None
    status, body = refused
    assert status == 503 and body["error"] == "KeyStoreUnavailable"


def test_the_rate_limiter_allows_bursts_then_refills() -> None:
    limiter = RateLimiter(rate=1000.0, burst=3)
    assert [limiter.allow("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.allow("a") > 0
    assert limiter.allow("b") == 0.0  # per client
    assert RateLimiter(rate=0, burst=1).allow("a") == 0.0


def test_errors_keep_field_value_and_fix_with_the_api_names() -> None:
    with pytest.raises(ValueError) as caught:
        parse_cpu("lots", field="--cpu")
    status, body = payload(caught.value) or (0, {})
    assert status == 400 and body["field"] == "cpu" and body["value"] == "lots" and body["fix"]
    assert body["message"].startswith("cpu:")
    with pytest.raises(ValueError) as caught:
        parse_amount("5", field="AMOUNT")
    assert (payload(caught.value) or (0, {}))[1]["field"] == "amount"
    with pytest.raises(PlanError) as plan_error:
        plan_size("huge")
    status, body = payload(plan_error.value) or (0, {})
    assert status == 400 and body["field"] == "plan" and body["value"] == "huge"
    assert payload(TxReverted("stop", "not the requestor"))[0] == 409  # type: ignore[index]
    assert payload(RpcUnavailable("down"))[0] == 503  # type: ignore[index]
    assert payload(ApiError(429, "rate_limited", "client", "ip:x", "is fast", "wait"))[0] == 429  # type: ignore[index]
    assert payload(KeyError("bug")) is None  # a bug is a 500, not a user error

    class M(BaseModel):
        score: float

    with pytest.raises(ValidationError) as invalid:
        M(score="high")  # type: ignore[arg-type]
    status, body = payload(invalid.value) or (0, {})
    assert status == 400 and body["field"] == "score" and body["value"] == "high"
    assert api_field("--max-price") == "max_price" and api_field("provider") == "provider"


def test_the_openapi_document_validates_and_covers_the_route_table() -> None:
    doc = openapi("0.0.0")
    validate(doc)  # type: ignore[arg-type]
    assert sum(len(ops) for ops in doc["paths"].values()) == len(ENDPOINTS)
    secured = {(p, m) for p, ops in doc["paths"].items() for m, op in ops.items() if "security" in op}
    assert secured == {(PREFIX + e.path, e.method.lower()) for e in ENDPOINTS if e.auth}
    assert all(e.method == "POST" for e in ENDPOINTS if e.auth)


def test_match_pages_rejections_without_making_them_all() -> None:
    from linq.market.match import match
    from linq.market.models import ReasonCode, Requirements
    from tests.unit.test_market_match import provider

    providers = [
        provider(n, region="us-east" if n % 3 else "eu-west", total=(1000 * (n % 5 + 1), 16384, 100))
        for n in range(1, 40)
    ]
    result = match(providers, Requirements(cpu_millis=3000, regions=("eu",)))
    every = result.rejected
    assert result.rejected_count == len(every) > 10
    assert result.rejected_page(5, 7) == every[5:12]
    assert result.rejected_page(len(every) - 2, 10) == every[-2:]
    counts = result.rejection_counts()
    assert counts[ReasonCode.REGION] == sum(ReasonCode.REGION in r.codes for r in every)
    assert counts[ReasonCode.CPU] == sum(ReasonCode.CPU in r.codes for r in every)
