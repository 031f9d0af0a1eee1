"""One reconcile pass of the provider agent: read the chain and the cluster, then act.

    wait for our own pending transactions  (a crashed run's send lands before anything is decided)
    scan events -> the escrows assigned to us (incremental, cursor in the state file)
    read every open escrow on chain, list the tenant namespaces on the cluster
    Created + namespace + workload ready   -> start   (status re-read just before sending)
    Ended                                  -> finalize, then delete its namespaces
    Stopped / Cancelled / Completed        -> delete its namespaces
    Active, withdrawal due                 -> withdrawMany of every escrow with >= --min-withdraw withdrawable
    namespaces of unknown escrows or of other providers: left alone, reported

Every decision comes from chain and cluster state read in this pass; the state file only saves rescans and
remembers the last withdrawal (which the Withdrawn events also give). The contract refuses a second
`start`, and the status is re-read right before sending one, so a restart at any point never double-starts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import to_checksum_address
from web3.logs import DISCARD

from linq import checkpoints
from linq.agent import discovery
from linq.agent import state as state_file
from linq.agent.actionlog import ActionLog
from linq.agent.cluster import Cluster, ClusterError, TenantNamespace
from linq.chain import escrows as ops
from linq.chain.client import ChainClient
from linq.chain.errors import ChainError, RpcUnavailable, TxReverted
from linq.chain.tx import TxResult
from linq.contracts.terms import Terms
from linq.protocol.status import SETTLED, EscrowStatus

WITHDRAW_BATCH = 40  # escrows per withdrawMany: well inside a block's gas limit
PENDING_WAIT_SECONDS = 120.0
NamespacesByEscrow = dict[str, list[TenantNamespace]]


@dataclass(frozen=True)
class Settings:
    withdraw_every: int = 3600  # seconds of chain time between withdrawals
    min_withdraw: int = 1  # wei: an escrow with less withdrawable is left for a later withdrawal
    state_file: Path | None = None
    # seconds before an escrow's start deadline at which one that still cannot start is declined (full refund to
    # the requestor, no reputation change); left unanswered past the deadline it would count as `cancelled`
    decline_before: int = 3600

    def __post_init__(self) -> None:
        if self.withdraw_every < 0:
            raise ValueError(f"--withdraw-every {self.withdraw_every}s is negative; give 0 or more seconds")
        if self.min_withdraw < 0:
            raise ValueError(f"--min-withdraw {self.min_withdraw} wei is negative; give 0 or more")
        if self.decline_before < 0:
            raise ValueError(f"decline_before {self.decline_before}s is negative; give 0 or more seconds")


@dataclass
class PassReport:
    """What one pass saw and did (the JSON lines say the same, one event each)."""

    block: int = 0
    now: int = 0
    discovered: list[str] = field(default_factory=list)
    started: dict[str, str] = field(default_factory=dict)  # escrow id -> tx
    withdrawn: dict[str, int] = field(default_factory=dict)  # escrow id -> wei
    withdraw_txs: list[str] = field(default_factory=list)
    finalized: dict[str, str] = field(default_factory=dict)  # escrow id -> tx
    reclaimed: list[str] = field(default_factory=list)  # namespaces deleted
    waiting: dict[str, str] = field(default_factory=dict)  # escrow id -> why not started yet
    declined: dict[str, str] = field(default_factory=dict)  # escrow id -> tx (could not start before its deadline)
    left_alone: dict[str, str] = field(default_factory=dict)  # namespace -> why the agent does not touch it
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class Agent:
    """The reconcile loop's state and one pass of it; one Agent per provider wallet and cluster."""

    def __init__(self, chain: ChainClient, cluster: Cluster, settings: Settings, log: ActionLog | None = None) -> None:
        self.chain = chain
        self.cluster = cluster
        self.settings = settings
        self.log = log or ActionLog()
        self.provider = to_checksum_address(chain.address)
        loaded = state_file.load(
            settings.state_file, chain_id=chain.chain_id, escrow_contract=chain.escrow.address, provider=self.provider
        )
        self.state = loaded.state
        if loaded.note:
            self.log.warning("state-reset", detail=loaded.note)
        # What was already reported in this process, so a loop does not repeat the same line every interval.
        self._reported: dict[str, str] = {}

    # ---- the pass --------------------------------------------------------------------------------------
    def reconcile_once(self) -> PassReport:
        report = PassReport()
        # A send of a killed run may still be pending: decide only once it has landed.
        self.chain.transactor.wait_for_pending(PENDING_WAIT_SECONDS)
        scan = discovery.scan(self.chain, self.state)
        report.block = scan.to_block
        for escrow_id in scan.new:
            terms = self.state.escrows[escrow_id]
            report.discovered.append(escrow_id)
            self.log.info(
                "escrow-discovered",
                escrow_id=escrow_id,
                requestor=terms.requestor,
                rate_per_hour=str(terms.rate_per_hour),
            )

        states = {
            eid: ops.read_state(self.chain, terms)
            for eid, terms in sorted(self.state.escrows.items())
            if eid not in self.state.done
        }
        report.now = self.chain.now()
        ours = self._our_namespaces(self.cluster.tenant_namespaces(), report)

        for eid, escrow in states.items():
            try:
                self._reconcile_escrow(eid, escrow, ours.get(eid, []), report)
            except (ChainError, ClusterError) as err:
                if isinstance(err, RpcUnavailable):
                    raise
                report.errors.append(f"{eid}: {err}")
                self.log.error("action-failed", escrow_id=eid, status=escrow.status, detail=str(err))

        active = [s for s in states.values() if s.status == EscrowStatus.ACTIVE and s.escrow_id not in report.finalized]
        try:
            self._withdraw(active, report)
        except (ChainError, ClusterError) as err:
            if isinstance(err, RpcUnavailable):
                raise
            report.errors.append(f"withdraw: {err}")
            self.log.error("action-failed", action="withdraw", detail=str(err))

        checkpoints.checkpoint("agent:before-save")
        state_file.save(self.settings.state_file, self.state)
        return report

    # ---- namespaces ------------------------------------------------------------------------------------
    def _our_namespaces(self, namespaces: list[TenantNamespace], report: PassReport) -> NamespacesByEscrow:
        """escrow id -> our tenant namespaces; every other namespace is reported and left alone."""
        ours: NamespacesByEscrow = defaultdict(list)
        for ns in namespaces:
            reason = self._foreign_reason(ns)
            if reason is None:
                ours[ns.escrow_key or ""].append(ns)
                continue
            report.left_alone[ns.name] = reason
            self._report_once(
                f"ns:{ns.name}",
                reason,
                "namespace-left-alone",
                namespace=ns.name,
                escrow_id=ns.escrow_id or None,
                reason=reason,
            )
        return ours

    def _foreign_reason(self, ns: TenantNamespace) -> str | None:
        key = ns.escrow_key
        if not ns.escrow_id:
            return "tenant namespace without a linq.network/escrow-id annotation"
        if key is None:
            return f"linq.network/escrow-id {ns.escrow_id!r} is not an escrow id (0x + 64 hex digits)"
        if ns.provider and ns.provider.lower() != self.provider.lower():
            return f"belongs to provider {ns.provider}, not {self.provider}"
        if key not in self.state.escrows:
            return f"escrow {key} is not an escrow of provider {self.provider} on chain {self.chain.chain_id}"
        if not ns.is_tenant:
            return "names one of our escrows but lacks the linq.network/tenant label; not deleting it"
        return None

    # ---- one escrow --------------------------------------------------------------------------------------
    def _reconcile_escrow(
        self, eid: str, escrow: ops.EscrowState, namespaces: list[TenantNamespace], report: PassReport
    ) -> None:
        status = escrow.status
        if status == EscrowStatus.CREATED:
            self._maybe_start(eid, escrow.terms, namespaces, report)
        elif status == EscrowStatus.ENDED:
            self._revoke(eid, status)
            self._finalize(eid, escrow.terms, report)
            self._reclaim(eid, EscrowStatus.COMPLETED, namespaces, report)
        elif status in SETTLED:
            self._revoke(eid, status)
            self._reclaim(eid, status, namespaces, report)
        elif status == EscrowStatus.NONE:
            self._revoke(eid, "moved")
            # The requestor moved it to another provider before start (the old id reads None on chain).
            self.state.done.add(eid)
            self.log.info("escrow-moved-away", escrow_id=eid)
            for ns in namespaces:
                report.left_alone[ns.name] = f"escrow {eid} no longer exists (moved to another provider)"
        elif status == EscrowStatus.ACTIVE and not namespaces:
            self._report_once(
                f"active:{eid}",
                "no namespace",
                "active-without-namespace",
                level="warning",
                escrow_id=eid,
                detail="the escrow runs but no tenant namespace names it",
            )

    def _maybe_start(self, eid: str, terms: Terms, namespaces: list[TenantNamespace], report: PassReport) -> None:
        live = [ns for ns in namespaces if not ns.terminating]
        if not live:
            self._wait_or_decline(eid, terms, "no tenant namespace annotated with this escrow yet", report)
            return
        for ns in live:
            workloads = self.cluster.workloads(ns.name)
            if not workloads:
                self._wait_or_decline(
                    eid, terms, f"namespace {ns.name} has no workload labelled linq.network/deployment yet", report
                )
                return
            not_ready = [w for w in workloads if not w.ready]
            if not_ready:
                w = not_ready[0]
                self._wait_or_decline(eid, terms, f"{w.kind} {ns.name}/{w.name}: {w.detail}", report)
                return
        # Re-read right before sending: the pass's snapshot may be seconds old (a cancel, a move, another agent).
        current = EscrowStatus.from_code(self.chain.escrow.functions.statusOf(terms.as_tuple()).call())
        if current != EscrowStatus.CREATED:
            self.log.info("start-skipped", escrow_id=eid, status=current, detail="status changed before sending")
            return
        result = self._send_unless_changed("start", eid, terms)
        if result is None:
            return
        started = self.chain.escrow.events.Started().process_receipt(result.receipt, errors=DISCARD)
        end = int(started[0]["args"]["end"]) if started else 0
        report.started[eid] = result.tx_hash
        self._reported.pop(f"wait:{eid}", None)
        self.log.info(
            "escrow-started",
            escrow_id=eid,
            tx=result.tx_hash,
            block=result.block_number,
            namespaces=[ns.name for ns in live],
            end=end,
        )
        checkpoints.checkpoint("agent:after-start")

    def _finalize(self, eid: str, terms: Terms, report: PassReport) -> None:
        result = self._send_unless_changed("finalize", eid, terms)  # anyone may finalize: someone may be first
        if result is None:
            return
        events = self.chain.escrow.events.Finalized().process_receipt(result.receipt, errors=DISCARD)
        to_provider = int(events[0]["args"]["toProvider"]) if events else 0
        report.finalized[eid] = result.tx_hash
        self.log.info(
            "escrow-finalized", escrow_id=eid, tx=result.tx_hash, block=result.block_number, to_provider=to_provider
        )
        checkpoints.checkpoint("agent:after-finalize")

    def _send_unless_changed(self, fn: str, eid: str, terms: Terms) -> TxResult | None:
        """Send escrow function `fn` for `terms`; None (logged as `<fn>-skipped`) when the escrow changed between our
        read and the estimate: started, settled or moved by someone else (WrongStatus, UnknownEscrow)."""
        try:
            return self.chain.send(
                getattr(self.chain.escrow.functions, fn)(terms.as_tuple()),
                what=f"{fn} escrow {eid}",
                context={"provider": self.provider, "action": fn},
                step=fn,
            )
        except TxReverted as err:
            if err.error_name in ("WrongStatus", "UnknownEscrow"):
                self.log.info(f"{fn}-skipped", escrow_id=eid, detail=err.reason)
                return None
            raise

    def _revoke(self, eid: str, status: str) -> None:
        """Tenant credentials die in the pass that sees the escrow end (before the namespace is reclaimed)."""
        try:
            revoked = self.cluster.revoke_session(eid)
        except ClusterError as err:
            if "forbidden" not in str(err):
                raise
            # An agent whose ClusterRole predates the gateway: say so once, keep reclaiming as before.
            self._report_once(
                f"revoke:{eid}",
                "forbidden",
                "credentials-not-revoked",
                level="warning",
                escrow_id=eid,
                detail=f"{err}; grant the agent delete on rolebindings and on serviceaccounts in "
                "linq-gateway (docs/gateway.md)",
            )
            return
        if revoked:
            self.log.info("credentials-revoked", escrow_id=eid, status=status)

    def _reclaim(self, eid: str, status: str, namespaces: list[TenantNamespace], report: PassReport) -> None:
        for ns in namespaces:
            if ns.terminating:
                continue
            if self.cluster.delete_namespace(ns.name):
                report.reclaimed.append(ns.name)
                self.log.info("namespace-deleted", escrow_id=eid, namespace=ns.name, status=status)
        if not namespaces:
            # Settled and nothing left on the cluster: stop reading it every pass.
            self.state.done.add(eid)

    # ---- withdrawals ---------------------------------------------------------------------------------------
    def _withdraw(self, active: list[ops.EscrowState], report: PassReport) -> None:
        # Due `withdraw_every` after the last withdrawal; before the first one, after the earliest start (so a
        # fresh escrow is not paid out in dust). Both times come from the chain, so a lost state file keeps them.
        since = self.state.last_withdraw_at or min((s.start for s in active), default=0)
        if report.now < since + self.settings.withdraw_every:
            return
        floor = max(self.settings.min_withdraw, 1)
        batch = [s for s in active if s.withdrawable >= floor]
        if not batch:
            return
        for i in range(0, len(batch), WITHDRAW_BATCH):
            chunk = batch[i : i + WITHDRAW_BATCH]
            call = self.chain.escrow.functions.withdrawMany([s.terms.as_tuple() for s in chunk])
            try:
                result = self.chain.send(
                    call,
                    what=f"withdraw from {len(chunk)} escrow(s)",
                    context={"provider": self.provider, "action": "withdraw"},
                    step="withdrawMany",
                )
            except ChainError as err:
                if isinstance(err, RpcUnavailable):
                    raise
                # The contract skips what is not payable, so a batch should not revert; if one does, or the node
                # refuses it (e.g. more gas than a block holds), one escrow must not hold back the others'
                # earnings: withdraw them one at a time.
                detail = err.reason if isinstance(err, TxReverted) else str(err)
                self.log.warning("withdraw-batch-reverted", escrows=len(chunk), detail=detail)
                for s in chunk:
                    self._withdraw_one(s, report)
                continue
            self._record_withdrawals(result, len(chunk), report)

    def _withdraw_one(self, s: ops.EscrowState, report: PassReport) -> None:
        eid = discovery.escrow_key(s.terms.escrow_id)
        try:
            result = self.chain.send(
                self.chain.escrow.functions.withdraw(s.terms.as_tuple()),
                what=f"withdraw from escrow {eid}",
                context={"provider": self.provider, "action": "withdraw"},
                step="withdraw",
            )
        except TxReverted as err:
            self.log.info("withdraw-skipped", escrow_id=eid, detail=err.reason)
            return
        self._record_withdrawals(result, 1, report)

    def _record_withdrawals(self, result: TxResult, escrows: int, report: PassReport) -> None:
        amounts: dict[str, int] = {}
        for event in self.chain.escrow.events.Withdrawn().process_receipt(result.receipt, errors=DISCARD):
            key = discovery.escrow_key(event["args"]["id"])
            amounts[key] = amounts.get(key, 0) + int(event["args"]["amount"])
        block_time = int(self.chain.w3.eth.get_block(result.block_number)["timestamp"])
        self.state.last_withdraw_at = max(self.state.last_withdraw_at, block_time)
        report.withdraw_txs.append(result.tx_hash)
        report.withdrawn.update(amounts)
        for key, amount in sorted(amounts.items()):
            self.log.info(
                "escrow-withdrawn", escrow_id=key, tx=result.tx_hash, amount=amount, block=result.block_number
            )
        self.log.info(
            "withdraw-batch", tx=result.tx_hash, escrows=escrows, total=sum(amounts.values()), block=result.block_number
        )
        checkpoints.checkpoint("agent:after-withdraw")

    def _wait_or_decline(self, eid: str, terms: Terms, reason: str, report: PassReport) -> None:
        """Not startable yet: wait, unless the start window closes within `decline_before`; then decline, so the
        requestor gets the deposit back now and the escrow does not count as unanswered (`cancelled`)."""
        deadline = int(self.chain.escrow.functions.startDeadline(terms.as_tuple()).call())
        if deadline == 0 or report.now < deadline - self.settings.decline_before:
            self._wait(eid, reason, report)
            return
        result = self._send_unless_changed("decline", eid, terms)
        if result is None:
            return
        report.declined[eid] = result.tx_hash
        self._reported.pop(f"wait:{eid}", None)
        self.log.info(
            "escrow-declined",
            escrow_id=eid,
            tx=result.tx_hash,
            block=result.block_number,
            reason=reason,
            deadline=deadline,
        )

    # ---- reporting -----------------------------------------------------------------------------------------
    def _wait(self, eid: str, reason: str, report: PassReport) -> None:
        report.waiting[eid] = reason
        self._report_once(f"wait:{eid}", reason, "escrow-waiting", escrow_id=eid, reason=reason)

    def _report_once(self, key: str, value: str, event: str, *, level: str = "info", **fields: object) -> None:
        """Log `event` when `key` first shows `value` in this process (not again every pass)."""
        if self._reported.get(key) == value:
            return
        self._reported[key] = value
        self.log.emit(event, level=level, **fields)
