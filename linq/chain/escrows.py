"""Escrow operations on chain: find (by salt, by id), read, create + fund, top up, change provider,
withdraw, and settle (cancel / stop / finalize, whichever the status allows).

An escrow is addressed by its Terms (the contract hashes them into the id). Salts are derived from a
seed (Pulumi: project/stack/type/name) and a generation number, so a re-run finds what a crashed run
created instead of funding twice, and a settled escrow is never adopted again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eth_utils import keccak, to_checksum_address

from linq import checkpoints
from linq.chain.errors import FundingError, InputError, TxReverted
from linq.contracts.abi import named
from linq.contracts.terms import Resources, Terms
from linq.market.offers import SignedOffer
from linq.protocol.figures import EscrowFigures, runway_left
from linq.protocol.status import EscrowStatus
from linq.units import format_lnq

if TYPE_CHECKING:
    from linq.chain.client import ChainClient

SALT_DOMAIN = "linq-escrow-salt/v1"

# Approve + create (or top-up) must not interleave for one signer: a second approve would overwrite the
# first allowance. One lock per (chain, requestor) in this process.
_FUNDING_LOCKS: dict[tuple[int, str], threading.Lock] = {}
_FUNDING_LOCKS_GUARD = threading.Lock()


def _funding_lock(client: ChainClient) -> threading.Lock:
    with _FUNDING_LOCKS_GUARD:
        return _FUNDING_LOCKS.setdefault((client.chain_id, client.address.lower()), threading.Lock())


def salt_for(seed: str, generation: int = 0) -> bytes:
    """keccak256("linq-escrow-salt/v1:<seed>#<generation>"): deterministic and distinct per seed/generation."""
    if generation < 0:
        raise ValueError(f"generation={generation}; use 0 or more")
    return keccak(f"{SALT_DOMAIN}:{seed}#{generation}".encode())


@dataclass(frozen=True)
class EscrowState(EscrowFigures):
    """An escrow read from the chain: its current terms and its figures."""

    terms: Terms = field(kw_only=True)

    def status_json(self, settlement: dict[str, Any] | None = None) -> dict[str, Any]:
        """The escrow as `linq escrow status --json` prints it and `GET /api/v1/escrow/{id}` answers (its terms
        too). Not `to_json`: that is EscrowFigures' shape, which the monitor's JSON keeps (id, figures, source)."""
        return {
            "escrow_id": self.escrow_id,
            "status": self.status.value,
            **self.terms.to_json(),
            **self.figures_json(),
            "now": self.now,
            "settlement": settlement or {},
        }


def read_state(client: ChainClient, terms: Terms) -> EscrowState:
    v = named("Escrow", "getEscrow", client.escrow.functions.getEscrow(terms.as_tuple()).call())
    status, now = EscrowStatus.from_code(v["status"]), client.now()
    deposited, end, rate = int(v["deposited"]), int(v["end"]), terms.rate_per_hour
    return EscrowState(
        escrow_id="0x" + terms.escrow_id.hex(),
        status=status,
        deposited=deposited,
        earned=int(v["earned"]),
        withdrawn=int(v["withdrawn"]),
        withdrawable=int(v["withdrawable"]),
        remaining=int(v["remaining"]),
        start=int(v["start"]),
        end=end,
        now=now,
        rate_per_hour=rate,
        runway=runway_left(status, deposited, rate, end, now),
        source="chain",
        terms=terms,
    )


def _terms(event_terms: Any) -> Terms:
    # web3 decodes the struct as an AttributeDict (a Mapping, not a dict).
    return Terms.from_event(dict(event_terms) if isinstance(event_terms, Mapping) else event_terms)


def _from_block(client: ChainClient) -> int:
    return int(client.profile.book.deployed_block)


def follow(client: ChainClient, terms: Terms) -> Terms:
    """The escrow's current terms: follows ProviderChanged from `terms` to the newest id."""
    seen = 0
    while seen < 64:  # a chain of provider changes is short; the cap guards against a malformed log set
        logs = list(
            client.escrow.events.ProviderChanged.get_logs(
                argument_filters={"oldId": terms.escrow_id}, from_block=_from_block(client)
            )
        )
        if not logs:
            return terms
        terms = _terms(logs[-1]["args"]["terms"])
        seen += 1
    return terms


def created_by(client: ChainClient, requestor: str) -> dict[bytes, Terms]:
    """salt -> terms of every escrow `requestor` created (as created; `follow` gives the current terms)."""
    logs = client.escrow.events.EscrowCreated.get_logs(
        argument_filters={"requestor": to_checksum_address(requestor)}, from_block=_from_block(client)
    )
    out: dict[bytes, Terms] = {}
    for log in logs:
        terms = _terms(log["args"]["terms"])
        out.setdefault(terms.salt, terms)
    return out


def find_by_salt(client: ChainClient, requestor: str, salt: bytes) -> Terms | None:
    """The escrow `requestor` created with `salt` (following provider changes), or None."""
    logs = client.escrow.events.EscrowCreated.get_logs(
        argument_filters={"requestor": to_checksum_address(requestor)}, from_block=_from_block(client)
    )
    for log in logs:
        terms = _terms(log["args"]["terms"])
        if terms.salt == salt:
            return follow(client, terms)
    return None


def find_by_id(client: ChainClient, escrow_id: bytes) -> Terms | None:
    start = _from_block(client)
    created = list(client.escrow.events.EscrowCreated.get_logs(argument_filters={"id": escrow_id}, from_block=start))
    if created:
        return _terms(created[0]["args"]["terms"])
    moved = list(client.escrow.events.ProviderChanged.get_logs(argument_filters={"newId": escrow_id}, from_block=start))
    if moved:
        return _terms(moved[0]["args"]["terms"])
    return None


def list_escrows(client: ChainClient, *, requestor: str | None = None, provider: str | None = None) -> list[Terms]:
    """Current terms of every escrow created by `requestor` and/or now held by `provider`."""
    filters: dict[str, Any] = {}
    if requestor:
        filters["requestor"] = to_checksum_address(requestor)
    out: dict[bytes, Terms] = {}
    for log in client.escrow.events.EscrowCreated.get_logs(argument_filters=filters, from_block=_from_block(client)):
        terms = follow(client, _terms(log["args"]["terms"]))
        if provider and terms.provider.lower() != provider.lower():
            continue
        out[terms.escrow_id] = terms
    return list(out.values())


def settlement(client: ChainClient, escrow_id: bytes) -> dict[str, Any] | None:
    """Who settled the escrow and how (the Cancelled / Stopped / Finalized event), or None."""
    start = _from_block(client)
    for name in ("Finalized", "Stopped", "Cancelled"):
        logs = list(getattr(client.escrow.events, name).get_logs(argument_filters={"id": escrow_id}, from_block=start))
        if not logs:
            continue
        log = logs[-1]
        tx = client.w3.eth.get_transaction(log["transactionHash"])
        args = log["args"]
        return {
            "event": name,
            "by": str(tx["from"]),
            "to_provider": str(int(args.get("toProvider", 0))),
            "refund": str(int(args.get("refund", 0))),
            "tx": "0x" + bytes(log["transactionHash"]).hex(),
            "block": int(log["blockNumber"]),
        }
    return None


# ---- writes ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreatePlan:
    """What to create: at registry prices (max_rate_per_hour guard) or from a signed offer."""

    provider: str
    resources: Resources
    deposit: int
    salt: bytes
    max_rate_per_hour: int = 0
    offer: SignedOffer | None = None


def _preflight(client: ChainClient, call: Any, amount: int, what: str, context: Mapping[str, Any]) -> None:
    """Everything that can refuse `call` is checked before any approve: the payer's LNQ balance, then a dry run
    of the call itself (status, bounds, capacity, price). Only the missing allowance may make the dry run fail."""
    balance = client.lnq_balance(client.address)
    if balance < amount:
        raise FundingError(
            f"{what}: {client.address} holds {format_lnq(balance)} ({balance} wei), the transaction needs "
            f"{format_lnq(amount)} ({amount} wei); fund the payer with at least {amount - balance} more wei or "
            "ask for less (nothing was sent, no allowance was set)"
        )
    try:
        client.transactor.estimate(call, what, dict(context))
    except TxReverted as err:
        if err.error_name != "ERC20InsufficientAllowance":
            raise


@contextmanager
def _allowance_for(client: ChainClient, amount: int, hashes: dict[str, str], key: str) -> Iterator[None]:
    """Approve exactly what the next transaction pulls (on top of any allowance the payer had), and put the
    allowance back to that earlier value if anything fails before the pull. An allowance that already covers
    `amount` (a crashed run's approve, which the pull then consumes) is used as it is."""
    before = client.allowance(client.address)
    if before >= amount:
        yield
        return
    result = client.send(
        client.lnq.functions.approve(client.escrow.address, before + amount),
        what=f"approve {format_lnq(amount)} for the escrow contract",
        step="approve",
    )
    hashes[key] = result.tx_hash
    try:
        yield
    except BaseException as failure:
        _restore_allowance(client, before, failure)
        raise


def _restore_allowance(client: ChainClient, before: int, failure: BaseException) -> None:
    """Set the allowance back to `before` (a transaction that is still pending is mined first: same sender)."""
    try:
        if client.allowance(client.address) != before:
            client.send(
                client.lnq.functions.approve(client.escrow.address, before),
                what=f"reset the escrow allowance to {format_lnq(before)}",
                step="reset-approve",
            )
    except Exception as err:  # the original failure is what the user needs; say what is left behind
        failure.add_note(
            f"the escrow allowance of {client.address} could not be reset to {before} wei ({err}); "
            f"run `cast send {client.lnq.address} 'approve(address,uint256)' {client.escrow.address} {before}`"
        )


def create_call(client: ChainClient, plan: CreatePlan) -> Any:
    """The contract call that creates `plan`'s escrow: createFromOffer for an offer, else create."""
    if plan.offer is not None:
        return client.escrow.functions.createFromOffer(
            plan.offer.offer.as_tuple(), plan.offer.signature_bytes, plan.deposit, plan.salt
        )
    return client.escrow.functions.create(
        to_checksum_address(plan.provider),
        plan.resources.as_tuple(),
        plan.deposit,
        plan.max_rate_per_hour,
        plan.salt,
    )


def create(client: ChainClient, plan: CreatePlan) -> tuple[Terms, dict[str, str]]:
    """[approve] + create (or createFromOffer); returns the new escrow's terms and the tx hashes. Refused before
    any transaction when the balance or the escrow's checks say no; no allowance is left behind on failure."""
    hashes: dict[str, str] = {}
    context = {"provider": plan.provider, "action": "create"}
    what = f"create escrow of {format_lnq(plan.deposit)} with provider {plan.provider}"
    with _funding_lock(client):
        call = create_call(client, plan)
        _preflight(client, call, plan.deposit, what, context)
        checkpoints.checkpoint("escrow:before-approve")
        with _allowance_for(client, plan.deposit, hashes, "approve"):
            checkpoints.checkpoint("escrow:after-approve")
            result = client.send(create_call(client, plan), what=what, context=context, step="create")
    hashes["create"] = result.tx_hash
    from web3.logs import DISCARD

    events = client.escrow.events.EscrowCreated().process_receipt(result.receipt, errors=DISCARD)
    return _terms(events[0]["args"]["terms"]), hashes


def top_up(client: ChainClient, terms: Terms, amount: int, *, tag: bytes = b"") -> dict[str, str]:
    """[approve] + topUp; `tag` is appended to the topUp calldata to mark who sent it (see TaggedCall). Refused
    before any transaction when the balance or the escrow (status, end, top-up bound) says no; no allowance is
    left behind on failure."""
    hashes: dict[str, str] = {}
    what = f"top up escrow 0x{terms.escrow_id.hex()} by {format_lnq(amount)}"
    context = {"provider": terms.provider, "action": "top-up"}
    with _funding_lock(client):
        call = client.escrow.functions.topUp(terms.as_tuple(), amount)
        _preflight(client, call, amount, what, context)
        with _allowance_for(client, amount, hashes, "approve_top_up"):
            checkpoints.checkpoint("escrow:after-approve-top-up")
            from linq.chain.tx import TaggedCall

            result = client.send(TaggedCall(call, tag) if tag else call, what=what, context=context, step="topUp")
    hashes["top_up"] = result.tx_hash
    return hashes


def change_provider(client: ChainClient, terms: Terms, new_provider: str, max_rate_per_hour: int) -> tuple[Terms, str]:
    result = client.send(
        client.escrow.functions.changeProvider(terms.as_tuple(), to_checksum_address(new_provider), max_rate_per_hour),
        what=f"move escrow 0x{terms.escrow_id.hex()} to provider {new_provider}",
        context={"provider": new_provider, "action": "change provider"},
        step="changeProvider",
    )
    from web3.logs import DISCARD

    events = client.escrow.events.ProviderChanged().process_receipt(result.receipt, errors=DISCARD)
    return _terms(events[0]["args"]["terms"]), result.tx_hash


# A stop estimated in the block the escrow started (nothing earned yet) skips the provider's transfer, which
# the mined stop, a second later, makes: up to a fresh token balance slot (22.1 k) plus the transfer itself.
EARNINGS_TRANSFER_GAS = 40_000


def _simple(client: ChainClient, fn: str, terms: Terms, action: str, extra_gas: int = 0) -> str:
    call = getattr(client.escrow.functions, fn)(terms.as_tuple())
    result = client.send(
        call,
        what=f"{action} escrow 0x{terms.escrow_id.hex()}",
        context={"provider": terms.provider, "action": action},
        step=fn,
        extra_gas=extra_gas,
    )
    return result.tx_hash


def withdraw(client: ChainClient, terms: Terms) -> str:
    return _simple(client, "withdraw", terms, "withdraw from")


def stop(client: ChainClient, terms: Terms) -> str:
    return _simple(client, "stop", terms, "stop", EARNINGS_TRANSFER_GAS)


def cancel(client: ChainClient, terms: Terms) -> str:
    return _simple(client, "cancel", terms, "cancel")


def decline(client: ChainClient, terms: Terms) -> str:
    """The provider refuses an escrow it has not started: full refund to the requestor, no reputation change."""
    return _simple(client, "decline", terms, "decline")


def finalize(client: ChainClient, terms: Terms) -> str:
    return _simple(client, "finalize", terms, "finalize")


def settle(client: ChainClient, terms: Terms) -> tuple[str, str | None]:
    """Cancel (Created), stop (Active) or finalize (Ended); an escrow already settled is success.

    Returns (what happened, tx hash or None). Races (the escrow ending between the read and the send, or
    someone else finalizing it) are resolved by reading again rather than failing.
    """
    for _ in range(3):
        state = read_state(client, terms)
        if state.status.is_settled or state.status == EscrowStatus.NONE:
            return f"already {state.status.lower()}", None
        try:
            if state.status == EscrowStatus.CREATED:
                return "cancelled", cancel(client, terms)
            if state.status == EscrowStatus.ACTIVE:
                return "stopped", stop(client, terms)
            return "finalized", finalize(client, terms)
        except TxReverted as err:
            if err.error_name not in ("AlreadyEnded", "WrongStatus", "NotEnded"):
                raise
    state = read_state(client, terms)
    return f"left {state.status.lower()}", None


def terms_by_id(client: ChainClient, escrow_id: str, field: str = "ESCROW_ID") -> Terms:
    """The current terms (after any provider change) of the escrow whose id is the text `escrow_id`; an
    InputError naming `field` when the text is not an id or the chain has no such escrow."""
    text = escrow_id.strip().lower()
    if not (text.startswith("0x") and len(text) == 66 and all(c in "0123456789abcdef" for c in text[2:])):
        raise InputError(field, escrow_id, "is not an escrow id", "give 0x followed by 64 hex digits")
    terms = find_by_id(client, bytes.fromhex(text[2:]))
    if terms is None:
        raise InputError(
            field,
            escrow_id,
            f"is not an escrow of {client.escrow.address} on chain {client.chain_id}",
            "check the id and the network (`linq escrow list`)",
        )
    return follow(client, terms)
