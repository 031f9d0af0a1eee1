"""Transaction builders: each returns the unsigned transaction(s) the user signs (from, to, data, value, gas,
EIP-1559 fees, chainId, nonce; quantities as 0x-hex, the form EIP-1193 wallets take) and a summary. The API
never holds a user's key; `submit` relays signed bytes to the chain and returns the receipt with its
decoded events (or the decoded revert).

Calls are composed by the library (linq.chain.escrows), gas is estimated by the one transaction path's
estimator (linq.chain.tx.Transactor.estimate: a revert is decoded into the sentence the CLI prints), and a
call that needs an approve first is estimated with the allowance it will have (an eth_estimateGas state
override of LNQ's allowance slot), so both transactions can be built, signed and sent in one go.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, cast

from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError
from web3.logs import DISCARD

from linq.api.context import ApiContext
from linq.api.errors import ApiError
from linq.api.reads import REQUIREMENT_PARAMS, Call, address, at_provider, requirements, terms_of
from linq.chain import escrows as ops
from linq.chain.decode import decode_revert, revert_data
from linq.chain.errors import TxReverted
from linq.chain.signers import Signer
from linq.chain.tx import GAS_MARGIN_PERCENT, Transactor
from linq.contracts.terms import Terms
from linq.market.offers import OfferError, SignedOffer, verify_offer
from linq.protocol.money import deposit_for, runway_seconds
from linq.units import format_duration, format_lnq, format_rate, parse_amount, parse_duration, parse_rate

ALLOWANCES_SLOT = 1  # OpenZeppelin 5 ERC20: _balances at slot 0, _allowances at slot 1 (LNQ is ERC20 first)
RECEIPT_TIMEOUT = 60.0


class _Sender:
    """The address a transaction will come from: all the estimator needs of a signer (no key here)."""

    def __init__(self, address: str) -> None:
        self.address = address


def _body(call: Call, allowed: set[str], required: set[str]) -> dict[str, Any]:
    body = call.body
    if not isinstance(body, dict):
        raise ApiError(
            400, "bad_body", "body", body, "is not a JSON object", f"send {{{', '.join(sorted(required))}, …}}"
        )
    for name in body:
        if name not in allowed:
            raise ApiError(
                400,
                "unknown_field",
                name,
                body[name],
                "is not a field of this request",
                f"use {', '.join(sorted(allowed))}",
            )
    for name in sorted(required):
        if body.get(name) in (None, ""):
            raise ApiError(400, "missing_field", name, None, "is missing", f"give {name}")
    return body


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, "bad_field", name, value, "is not a string", f'give {name} as a string, e.g. "1.5 LNQ"')
    return value


def _hex(value: int) -> str:
    return hex(value)


class Builder:
    """Unsigned transactions from one sender, nonces counted from its pending count."""

    def __init__(self, ctx: ApiContext, sender: str) -> None:
        self.ctx = ctx
        self.sender = sender
        self.chain = ctx.chain
        self.estimator = Transactor(self.chain.w3, cast(Signer, _Sender(sender)), chain_id=self.chain.chain_id)
        self.fees = self.estimator.fees()
        self.nonce = self.chain.nonce(sender)
        self.txs: list[dict[str, Any]] = []

    def add(self, fn: Any, *, what: str, context: dict[str, Any], gas: int | None = None, extra_gas: int = 0) -> None:
        if gas is None:
            gas = self.estimator.estimate(fn, what, context) + extra_gas
        data = fn._encode_transaction_data()
        self.txs.append(
            {
                "description": what,
                "from": self.sender,
                "to": fn.address,
                "data": data,
                "value": "0x0",
                "gas": _hex(gas),
                "maxFeePerGas": _hex(self.fees["maxFeePerGas"]),
                "maxPriorityFeePerGas": _hex(self.fees["maxPriorityFeePerGas"]),
                "chainId": _hex(self.chain.chain_id),
                "nonce": _hex(self.nonce + len(self.txs)),
                "type": "0x2",
            }
        )

    def gas_after_approve(self, fn: Any, amount: int, what: str, context: dict[str, Any]) -> int:
        """Gas of `fn` as if the sender had already approved `amount` more for the escrow contract."""
        owner, spender = self.sender, self.chain.escrow.address
        inner = keccak(bytes.fromhex(owner[2:].lower().rjust(64, "0")) + ALLOWANCES_SLOT.to_bytes(32, "big"))
        slot = keccak(bytes.fromhex(spender[2:].lower().rjust(64, "0")) + inner)
        allowance = self.chain.allowance(owner) + amount
        override = {
            self.chain.lnq.address: {"stateDiff": {"0x" + slot.hex(): "0x" + allowance.to_bytes(32, "big").hex()}}
        }
        params = {"from": owner, "to": fn.address, "data": fn._encode_transaction_data()}
        try:
            gas = int(self.chain.w3.eth.estimate_gas(params, "latest", override))  # type: ignore[arg-type]
        except ContractLogicError as err:
            decoded = decode_revert(revert_data(err.data) or revert_data(err.args), context)
            raise TxReverted(what, decoded.sentence, error_name=decoded.name, args=decoded.args) from None
        return gas * (100 + GAS_MARGIN_PERCENT) // 100

    def funded(self, fn: Any, amount: int, *, what: str, context: dict[str, Any]) -> None:
        """[approve] + `fn`, which pulls `amount` LNQ from the sender; refused first if the balance is short."""
        balance = self.chain.lnq_balance(self.sender)
        if balance < amount:
            raise ApiError(
                409,
                "insufficient_balance",
                "from",
                self.sender,
                f"holds {format_lnq(balance)} ({balance} wei); this needs {format_lnq(amount)} ({amount} wei)",
                f"fund it with at least {amount - balance} more wei, or ask for less",
            )
        before = self.chain.allowance(self.sender)
        if before >= amount:
            self.add(fn, what=what, context=context)
            return
        approve = self.chain.lnq.functions.approve(self.chain.escrow.address, before + amount)
        self.add(approve, what=f"approve {format_lnq(amount)} for the escrow contract", context={})
        self.add(fn, what=what, context=context, gas=self.gas_after_approve(fn, amount, what, context))

    def result(self, summary: str, **extra: Any) -> dict[str, Any]:
        return {"transactions": self.txs, "summary": summary, **extra}


def _sender(body: dict[str, Any]) -> str:
    return address(_text(body, "from"), "from")


def _salt(body: dict[str, Any]) -> bytes:
    text = _text(body, "salt")
    if text is None:
        return secrets.token_bytes(32)
    if not (text.startswith("0x") and len(text) == 66 and all(c in "0123456789abcdefABCDEF" for c in text[2:])):
        raise ApiError(
            400, "bad_field", "salt", text, "is not 32 bytes", "give 0x followed by 64 hex digits, or leave it out"
        )
    return bytes.fromhex(text[2:])


# ---- offers --------------------------------------------------------------------------------------------
def _signed_offer(value: Any) -> SignedOffer:
    if not isinstance(value, dict | str):
        raise ApiError(
            400, "bad_field", "offer", value, "is not a signed offer", "give the JSON `linq offer sign` writes"
        )
    try:
        return SignedOffer.from_json(value if isinstance(value, str) else json.dumps(value), source="offer")
    except OfferError as err:
        problem = str(err).removeprefix("offer: ")
        shown = value.get("kind") if isinstance(value, dict) else value[:80]
        raise ApiError(400, "bad_offer", "offer", shown, problem, "give the JSON `linq offer sign` writes") from None


def verify(ctx: ApiContext, call: Call) -> dict[str, Any]:
    body = _body(call, {"offer"}, {"offer"})
    signed = _signed_offer(body["offer"])
    escrow = ctx.profile.book.escrow
    report = verify_offer(signed, w3=ctx.chain.w3, expected_contract=escrow, escrow_address=escrow)
    return report.to_json(signed)


# ---- create and fund -----------------------------------------------------------------------------------
CREATE_FIELDS = ("from", "provider", *REQUIREMENT_PARAMS[:6], "max_price", "deposit", "salt", "offer")


def create(ctx: ApiContext, call: Call) -> dict[str, Any]:
    """Create + fund an escrow: at the provider's registry prices (resources as a plan or explicit, the rate
    capped at max_price, default the rate seen now), or from a signed offer. Deposit: given, else for the
    duration."""
    body = _body(call, set(CREATE_FIELDS), {"from"})
    sender, salt = _sender(body), _salt(body)
    builder = Builder(ctx, sender)
    deposit_text = _text(body, "deposit")
    if body.get("offer") is not None:
        signed = _signed_offer(body["offer"])
        rate = signed.offer.rate_per_hour
        if deposit_text is not None:
            deposit = parse_amount(deposit_text, field="deposit")
        else:
            deposit = deposit_for(rate, parse_duration(_text(body, "duration") or "", field="duration"))
        plan = ops.CreatePlan(
            provider=signed.offer.provider, resources=signed.offer.resources, deposit=deposit, salt=salt, offer=signed
        )
    else:
        if not _text(body, "provider"):
            raise ApiError(
                400, "missing_field", "provider", None, "is missing", "give the provider's address (or an offer)"
            )
        query = {
            k: v for k, v in body.items() if k in ("plan", "cpu", "memory", "storage", "gpu", "duration", "max_price")
        }
        for name in query:
            _text(body, name)
        provider = address(body["provider"], "provider")
        from starlette.datastructures import QueryParams

        req = requirements(QueryParams(query))
        best = at_provider(ctx.view(), req, provider)
        rate = best.rate_per_hour
        deposit = parse_amount(deposit_text, field="deposit") if deposit_text is not None else best.total_cost
        max_rate = parse_rate(body["max_price"], field="max_price") if body.get("max_price") else rate
        plan = ops.CreatePlan(
            provider=provider, resources=best.resources(req), deposit=deposit, salt=salt, max_rate_per_hour=max_rate
        )
    if deposit <= 0:
        raise ApiError(400, "bad_field", "deposit", deposit_text, "is zero", "give a deposit above 0, e.g. 1 LNQ")
    what = f"create escrow of {format_lnq(deposit)} with provider {plan.provider}"
    builder.funded(
        ops.create_call(ctx.chain, plan), deposit, what=what, context={"provider": plan.provider, "action": "create"}
    )
    terms = Terms(requestor=sender, provider=plan.provider, resources=plan.resources, rate_per_hour=rate, salt=salt)
    return builder.result(
        f"{what} at {format_rate(rate)} (runway {format_duration(runway_seconds(rate, deposit) or 0)}); "
        f"{len(builder.txs)} transaction(s) to sign in order",
        escrow_id="0x" + terms.escrow_id.hex(),
        salt="0x" + salt.hex(),
        deposit_wei=str(deposit),
        rate_per_hour_wei=str(rate),
    )


def fund(ctx: ApiContext, call: Call) -> dict[str, Any]:
    body = _body(call, {"from", "amount"}, {"from", "amount"})
    sender = _sender(body)
    amount = parse_amount(_text(body, "amount") or "", field="amount")
    if amount == 0:
        raise ApiError(400, "bad_field", "amount", body["amount"], "is zero", "give an amount above 0, e.g. 1.5 LNQ")
    terms = terms_of(ctx, call.path["escrow_id"])
    builder = Builder(ctx, sender)
    what = f"top up escrow 0x{terms.escrow_id.hex()} by {format_lnq(amount)}"
    builder.funded(
        ctx.chain.escrow.functions.topUp(terms.as_tuple(), amount),
        amount,
        what=what,
        context={"provider": terms.provider, "action": "top-up"},
    )
    return builder.result(what, escrow_id="0x" + terms.escrow_id.hex())


def update_provider(ctx: ApiContext, call: Call) -> dict[str, Any]:
    body = _body(call, {"from", "provider", "max_price"}, {"from", "provider", "max_price"})
    sender = _sender(body)
    provider = address(_text(body, "provider"), "provider")
    max_rate = parse_rate(_text(body, "max_price") or "", field="max_price")
    terms = terms_of(ctx, call.path["escrow_id"])
    builder = Builder(ctx, sender)
    what = f"move escrow 0x{terms.escrow_id.hex()} to provider {provider}"
    fn = ctx.chain.escrow.functions.changeProvider(terms.as_tuple(), to_checksum_address(provider), max_rate)
    builder.add(fn, what=what, context={"provider": provider, "action": "change provider"})
    return builder.result(f"{what} (rate at most {format_rate(max_rate)})", escrow_id="0x" + terms.escrow_id.hex())


def _simple(fn_name: str, action: str, extra_gas: int = 0) -> Any:
    def handler(ctx: ApiContext, call: Call) -> dict[str, Any]:
        body = _body(call, {"from"}, {"from"})
        sender = _sender(body)
        terms = terms_of(ctx, call.path["escrow_id"])
        builder = Builder(ctx, sender)
        what = f"{action} escrow 0x{terms.escrow_id.hex()}"
        fn = getattr(ctx.chain.escrow.functions, fn_name)(terms.as_tuple())
        builder.add(fn, what=what, context={"provider": terms.provider, "action": action}, extra_gas=extra_gas)
        return builder.result(what, escrow_id="0x" + terms.escrow_id.hex())

    handler.__name__ = fn_name
    return handler


start = _simple("start", "start")
withdraw = _simple("withdraw", "withdraw from")
stop = _simple("stop", "stop", ops.EARNINGS_TRANSFER_GAS)
finalize = _simple("finalize", "finalize")


# ---- relay ---------------------------------------------------------------------------------------------
def _decode_raw(text: Any) -> tuple[bytes, dict[str, Any], str]:
    if not isinstance(text, str) or not text.startswith("0x"):
        raise ApiError(
            400, "bad_field", "raw", text, "is not a signed transaction", "give the 0x-hex bytes your wallet signed"
        )
    try:
        raw = bytes.fromhex(text[2:])
        tx = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
        sender = Account.recover_transaction(raw)
    except Exception:
        raise ApiError(
            400,
            "bad_signature",
            "raw",
            text[:80],
            "is not a signed EIP-1559 transaction (undecodable or bad signature)",
            "sign the transaction the builder returned and send its raw bytes",
        ) from None
    return raw, tx, sender


def submit(ctx: ApiContext, call: Call) -> dict[str, Any]:
    body = _body(call, {"raw"}, {"raw"})
    raw, tx, sender = _decode_raw(body["raw"])
    chain = ctx.chain
    if int(tx.get("chainId", -1)) != chain.chain_id:
        raise ApiError(
            400,
            "wrong_chain",
            "raw",
            tx.get("chainId"),
            f"is signed for another chain than {chain.chain_id}",
            "build it again with this API",
        )
    to = to_checksum_address(tx["to"]) if tx.get("to") else None
    ours = {chain.lnq.address, chain.escrow.address, chain.registry.address}
    if to not in ours:
        raise ApiError(
            400,
            "foreign_contract",
            "raw",
            to,
            "is not addressed to the protocol's contracts",
            f"only transactions to {', '.join(sorted(ours))} are relayed",
        )
    tx_hash = "0x" + keccak(raw).hex()
    try:
        chain.w3.eth.send_raw_transaction(raw)
    except Web3RPCError as err:
        message = (
            str(err.rpc_response.get("error", {}).get("message", err))
            if isinstance(err.rpc_response, dict)
            else str(err)
        )
        raise ApiError(
            409,
            "refused",
            "raw",
            tx_hash,
            f"was refused by the node ({message})",
            "build the transaction again (fresh nonce and fees) and sign it",
        ) from None
    try:
        receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=0.1)  # type: ignore[arg-type]
    except TimeExhausted:
        return {"tx_hash": tx_hash, "status": "pending", "from": sender, "events": [], "revert": None}
    events = []
    for contract in (chain.lnq, chain.escrow, chain.registry):
        for abi in contract.abi:
            name = abi.get("name")
            if abi.get("type") != "event" or not isinstance(name, str):
                continue
            for ev in getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD):
                if ev["address"] == contract.address:
                    events.append(
                        {
                            "contract": contract.address,
                            "event": ev["event"],
                            "args": _json(dict(ev["args"])),
                            "log_index": ev["logIndex"],
                        }
                    )
    events.sort(key=lambda e: e["log_index"])
    revert = None
    if receipt["status"] != 1:
        data = None
        try:
            chain.w3.eth.call(
                {"from": sender, "to": to, "data": tx["data"], "value": tx.get("value", 0)},
                int(receipt["blockNumber"]) - 1,
            )
        except ContractLogicError as err:
            data = revert_data(err.data) or revert_data(err.args)
        except Exception:
            data = None
        decoded = decode_revert(data)
        revert = {"error": decoded.name, "message": decoded.sentence}
    return {
        "tx_hash": tx_hash,
        "status": "success" if receipt["status"] == 1 else "reverted",
        "from": sender,
        "block": int(receipt["blockNumber"]),
        "gas_used": int(receipt["gasUsed"]),
        "events": events,
        "revert": revert,
        "at": int(time.time()),
    }


def _json(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if abs(value) >= 2**53 else value
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value
