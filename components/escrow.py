"""The Escrow dynamic resource: an on-chain LNQ escrow, created, funded, topped up and settled by Pulumi.

    escrow = Escrow("web", provider="0x…", resources={"cpu": "1", "memory": "1Gi", "storage": "10Gi"},
                    duration="24h")
    pulumi.export("runway", escrow.runway)

Inputs and their validation: linq.chain.escrow_spec. Lifecycle:
- check   validates and normalises (cheap reads only: registry record, quote, offer nonce; no writes);
- create  is idempotent: it waits for the signer's pending transactions, then looks up the salt
          (keccak of project/stack/type/name and a generation) among the signer's EscrowCreated events;
          an open escrow with the same terms is adopted, a settled one moves on to the next generation;
          only then approve + create. A crash at any step and a re-run never fund twice.
- diff    larger deposit / longer duration -> in-place top-up; provider change -> update while Created,
          replacement once started; resources or offer change -> replacement (delete first);
- read    refreshes every figure from the chain, follows provider changes, and reports a settlement
          made outside Pulumi (status, who, amounts) under `settlement`;
- delete  cancels (Created), stops (Active) or finalizes (Ended); already settled is success.
The Pulumi id is the salt (stable across provider changes); `escrow_id` is the contract's id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.dynamic import LinqProvider, is_unknown, merged
from linq import checkpoints
from linq.chain import ChainError
from linq.chain import escrows as ops
from linq.chain.escrow_spec import FIELDS, RESOURCE_KEYS, check_on_chain, normalise, rate_for, target_deposit
from linq.contracts.terms import Resources, Terms
from linq.market.offers import SignedOffer
from linq.protocol.status import OPEN, PAID_THROUGH, SETTLED, EscrowStatus

if TYPE_CHECKING:  # web3 loads on the first chain call (linq.chain), not when the provider is unpickled
    from linq.chain import ChainClient

OUTPUTS = (
    "escrow_id",
    "terms",
    "status",
    "deposited",
    "earned",
    "withdrawn",
    "withdrawable",
    "remaining",
    "start",
    "end",
    "runway",
    "rate_per_hour",
    "requestor",
    "tx_hashes",
    "settlement",
    "escrow_contract",
    "generation",
)
MAX_GENERATIONS = 1000
TERMS_FIELDS = ("provider", "resources", "offer")


def _resources(norm: Mapping[str, Any]) -> Resources:
    return Resources(*(int(norm["resources"][k]) for k in RESOURCE_KEYS))


def _same_terms(norm: Mapping[str, Any], terms: Terms) -> bool:
    """Is this existing escrow the one these inputs describe (provider, resources, offer rate)?"""
    if terms.provider.lower() != str(norm["provider"]).lower() or terms.resources != _resources(norm):
        return False
    if norm.get("offer"):
        return terms.rate_per_hour == SignedOffer.from_json(str(norm["offer"])).offer.rate_per_hour
    return True


def _state_outs(client: ChainClient, state: ops.EscrowState) -> dict[str, Any]:
    return {
        "escrow_id": state.escrow_id,
        "terms": state.terms.to_json(),
        "status": state.status.value,
        **state.figures_json(),
        "rate_per_hour": str(state.terms.rate_per_hour),
        "requestor": state.terms.requestor,
        "escrow_contract": client.escrow.address,
    }


def _settlement(client: ChainClient, state: ops.EscrowState) -> dict[str, Any]:
    if not state.status.is_settled:
        return {}
    found = ops.settlement(client, state.terms.escrow_id)
    if not found:
        return {}
    found["outside_pulumi"] = found["by"].lower() != state.terms.requestor.lower() or found["event"] == "Finalized"
    return found


def _add_hashes(old: Mapping[str, Any] | None, new: Mapping[str, str]) -> dict[str, str]:
    out = dict(old or {})
    for key, value in new.items():
        slot, n = key, 1
        while slot in out:
            n += 1
            slot = f"{key}_{n}"
        out[slot] = value
    return out


class EscrowProvider(LinqProvider):
    # ---- check ---------------------------------------------------------------------------------------
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        creating = not olds or not olds.get("salt_seed")
        norm, problems = normalise(news, olds=None if creating else olds, is_unknown=is_unknown)
        failures = [CheckFailure(p.field, p.reason) for p in problems]
        if failures or any(is_unknown(norm.get(k)) for k in ("provider", "resources", "offer", "duration", "deposit")):
            return CheckResult(norm, failures)
        if not creating and _unchanged(olds, norm):
            # Nothing changed: nothing to check on chain and nothing to sign, so a no-op `up` makes no RPC call.
            if not norm["max_rate_per_hour"] and olds.get("max_rate_per_hour"):
                norm["max_rate_per_hour"] = olds["max_rate_per_hour"]  # the ceiling chosen at creation stays
            return CheckResult(norm, [])
        signer, signer_failures = self.signer_or_failure()
        if signer_failures:
            return CheckResult(norm, signer_failures)
        assert signer is not None
        changed = creating or any(_differs(olds.get(k), norm.get(k)) for k in TERMS_FIELDS)
        try:
            client = self.client()
            if changed:
                problems = check_on_chain(norm, client, signer.address)
                if not norm["max_rate_per_hour"] and not norm["offer"] and not problems:
                    # The price seen at preview becomes the ceiling (guards against a price raise before create).
                    norm["max_rate_per_hour"] = str(rate_for(norm, client))
            elif not norm["max_rate_per_hour"] and olds.get("max_rate_per_hour"):
                norm["max_rate_per_hour"] = olds["max_rate_per_hour"]  # the ceiling chosen at creation stays
                problems = []
            elif norm.get("chain_id") and int(norm["chain_id"]) != client.chain_id:
                problems = check_on_chain({"chain_id": norm["chain_id"]}, client, signer.address)
            else:
                problems = []
        except ChainError as err:
            return CheckResult(norm, [CheckFailure("linq:network", str(err))])
        return CheckResult(norm, [CheckFailure(p.field, p.reason) for p in problems])

    # ---- diff ----------------------------------------------------------------------------------------
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes: list[str] = [k for k in FIELDS if k != "match" and _differs(olds.get(k), news.get(k))]
        replaces: list[str] = []
        status = olds.get("status", "")
        for key in ("salt_seed", "resources", "offer"):
            if key in changes:
                replaces.append(key)
        moves = status != EscrowStatus.CREATED or news.get("offer") or is_unknown(news.get("provider"))
        if "provider" in changes and moves:
            replaces.append("provider")
        if news.get("renew") and status in SETTLED:
            replaces.append("renew")
            changes.append("renew")
        if status in OPEN and "terms" in olds and not replaces:
            rate = int(olds["terms"]["rate_per_hour"])
            target = target_deposit(news, rate) if not is_unknown(news.get("deposit")) else None
            if target is not None and target > int(olds.get("deposited") or 0):
                changes.append("deposited")
        return DiffResult(
            changes=bool(changes),
            replaces=replaces,
            stables=["requestor", "escrow_contract"],
            delete_before_replace=True,
        )

    # ---- create --------------------------------------------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        norm = _renormalise(props)
        client = self.client()
        client.transactor.wait_for_pending()  # a crashed run's create may still be in flight
        existing = ops.created_by(client, client.address)
        hashes: dict[str, str] = {}
        for generation in range(MAX_GENERATIONS):
            salt = ops.salt_for(str(norm["salt_seed"]), generation)
            found = existing.get(salt)
            if found is None:
                terms, hashes = ops.create(client, self._plan(norm, client, salt))
                break
            state = ops.read_state(client, ops.follow(client, found))
            if state.is_open and _same_terms(norm, state.terms):
                terms = state.terms  # adopt: a previous run created it and crashed before saving state
                hashes["adopted"] = "0x" + terms.escrow_id.hex()
                break
        else:
            raise ChainError(
                f"salt_seed {norm['salt_seed']!r} has {MAX_GENERATIONS} generations in use; "
                "give the Escrow another name or salt_seed"
            )
        hashes.update(self._top_up_to_target(client, norm, terms))
        state = ops.read_state(client, terms)
        outs = merged(
            norm, _state_outs(client, state), {"tx_hashes": hashes, "settlement": {}, "generation": generation}
        )
        checkpoints.checkpoint("escrow:before-state-write")
        return CreateResult("0x" + terms.salt.hex(), outs)

    def _plan(self, norm: Mapping[str, Any], client: ChainClient, salt: bytes) -> ops.CreatePlan:
        rate = rate_for(norm, client)
        assert rate is not None
        deposit = target_deposit(norm, rate)
        if deposit is None:
            raise ChainError("duration/deposit: nothing to deposit; set duration (e.g. 24h) or deposit")
        offer = SignedOffer.from_json(str(norm["offer"])) if norm.get("offer") else None
        max_rate = int(norm["max_rate_per_hour"] or rate)
        return ops.CreatePlan(str(norm["provider"]), _resources(norm), deposit, salt, max_rate, offer)

    def _top_up_to_target(self, client: ChainClient, norm: Mapping[str, Any], terms: Terms) -> dict[str, str]:
        """Bring the on-chain deposit up to the target (reading the chain, so a repeated run never pays twice)."""
        target = target_deposit(norm, terms.rate_per_hour)
        state = ops.read_state(client, terms)
        if target is None or target <= state.deposited:
            return {}
        if norm.get("top_up_policy") == "never":
            raise ChainError(
                f"deposit: the target {target} wei is above the {state.deposited} wei deposited but "
                "top_up_policy is 'never'; set top_up_policy: in-place or keep the deposit"
            )
        if state.status not in PAID_THROUGH:
            raise ChainError(
                f"deposit: escrow {state.escrow_id} is {state.status} and cannot be topped up; "
                "set renew: true to fund a new escrow, or keep the deposit"
            )
        return ops.top_up(client, terms, target - state.deposited)

    # ---- read ----------------------------------------------------------------------------------------
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client = self.client(signer=False)
        terms = ops.follow(client, Terms.from_json(props["terms"]))
        state = ops.read_state(client, terms)
        outs = merged(props, _state_outs(client, state), {"settlement": _settlement(client, state)})
        if terms.provider != props["terms"]["provider"]:
            outs["provider"] = terms.provider  # moved with `linq escrow` outside Pulumi
        return ReadResult(id_, outs)

    # ---- update --------------------------------------------------------------------------------------
    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        norm = _renormalise(news)
        client = self.client()
        client.transactor.wait_for_pending()
        terms = ops.follow(client, Terms.from_json(olds["terms"]))
        hashes: dict[str, str] = {}
        if str(norm["provider"]).lower() != terms.provider.lower():
            state = ops.read_state(client, terms)
            if state.status != EscrowStatus.CREATED:
                raise ChainError(
                    f"provider: escrow {state.escrow_id} is {state.status}; the provider can change only "
                    "before start — the next `up` replaces it"
                )
            max_rate = int(norm["max_rate_per_hour"] or rate_for(norm, client) or 0)
            terms, tx = ops.change_provider(client, terms, str(norm["provider"]), max_rate)
            hashes["change_provider"] = tx
        hashes.update(self._top_up_to_target(client, norm, terms))
        state = ops.read_state(client, terms)
        outs = merged(
            olds,
            norm,
            _state_outs(client, state),
            {"tx_hashes": _add_hashes(olds.get("tx_hashes"), hashes), "settlement": _settlement(client, state)},
        )
        return UpdateResult(outs)

    # ---- delete --------------------------------------------------------------------------------------
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if not props.get("terms"):
            return  # nothing was ever created under this state
        client = self.client()
        client.transactor.wait_for_pending()
        ops.settle(client, ops.follow(client, Terms.from_json(props["terms"])))


def _renormalise(props: Mapping[str, Any]) -> dict[str, Any]:
    """Checked inputs come back over the wire with ints as floats; normalising again restores exact ints."""
    norm, problems = normalise({k: props.get(k) for k in FIELDS}, canonical=True)
    if problems:
        raise ChainError("; ".join(p.reason for p in problems))
    if props.get("max_rate_per_hour"):
        norm["max_rate_per_hour"] = str(props["max_rate_per_hour"])
    return norm


def _unchanged(olds: Mapping[str, Any], norm: Mapping[str, Any]) -> bool:
    """Every input as before (`match` is informational; an empty max rate inherits the one chosen at creation)."""
    return not any(
        _differs(olds.get(k), norm.get(k)) for k in FIELDS if k != "match" and (k != "max_rate_per_hour" or norm.get(k))
    )


def _differs(old: Any, new: Any) -> bool:
    if is_unknown(new):
        return True
    return _canon(old) != _canon(new)


def _canon(value: Any) -> Any:
    # Pulumi round-trips ints as floats (500 -> 500.0) and empty values as None/"".
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _canon(v) for k, v in value.items() if v not in (None, "")}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    return value


class Escrow(Resource, module="escrow", name="Escrow"):
    """An on-chain escrow. Amounts are decimal strings of LNQ wei (exact); times are unix seconds."""

    escrow_id: pulumi.Output[str]
    terms: pulumi.Output[dict[str, Any]]
    status: pulumi.Output[str]
    deposited: pulumi.Output[str]
    earned: pulumi.Output[str]
    withdrawn: pulumi.Output[str]
    withdrawable: pulumi.Output[str]
    remaining: pulumi.Output[str]
    start: pulumi.Output[int]
    end: pulumi.Output[int]
    runway: pulumi.Output[int]
    rate_per_hour: pulumi.Output[str]
    requestor: pulumi.Output[str]
    tx_hashes: pulumi.Output[dict[str, str]]
    settlement: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        resource_name: str,
        *,
        provider: pulumi.Input[str] | None = None,
        match: Any = None,
        resources: pulumi.Input[Mapping[str, Any]] | None = None,
        offer: pulumi.Input[Any] | None = None,
        duration: pulumi.Input[str | int] | None = None,
        deposit: pulumi.Input[str | int] | None = None,
        max_rate_per_hour: pulumi.Input[str | int] | None = None,
        top_up_policy: str = "in-place",
        renew: bool = False,
        chain_id: int | None = None,
        salt_seed: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if hasattr(match, "model_dump"):  # a linq.market MatchResult / Candidate
            match = match.model_dump(mode="json")
        seed = salt_seed or f"{pulumi.get_project()}/{pulumi.get_stack()}/linq:escrow:Escrow/{resource_name}"
        props: dict[str, Any] = {
            "provider": provider,
            "match": match,
            "resources": resources,
            "offer": offer,
            "duration": duration,
            "deposit": deposit,
            "max_rate_per_hour": max_rate_per_hour,
            "top_up_policy": top_up_policy,
            "renew": renew,
            "chain_id": chain_id,
            "salt_seed": seed,
        }
        props.update({k: None for k in OUTPUTS})
        super().__init__(EscrowProvider(), resource_name, props, opts)
