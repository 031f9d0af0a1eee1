// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "../utils/Test.sol";
import {EscrowHandler} from "./EscrowHandler.sol";
import {LNQ} from "../../src/LNQ.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {Escrow} from "../../src/Escrow.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";

/// @notice Protocol-wide properties under random sequences of requestor, provider, third-party and clock actions.
contract EscrowInvariantTest is Test {
    LNQ internal lnq;
    ProviderRegistry internal reg;
    Escrow internal esc;
    EscrowHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        lnq = new LNQ(address(this), 1_000_000_000 ether);
        reg = new ProviderRegistry();
        esc = new Escrow(lnq, reg, 600);
        reg.bindEscrow(address(esc));
        handler = new EscrowHandler(lnq, reg, esc);
        for (uint256 i = 0; i < 2; ++i) {
            address p = handler.providers(i);
            vm.startPrank(p);
            reg.register(
                IProviderRegistry.Capacity(64_000, 262_144, 4_000),
                IProviderRegistry.BaseRanges(uint64(1e13 * (i + 1)), 5e12, 1e13),
                bytes32("eu-west"),
                bytes32(0)
            );
            reg.updateGpuClass(1, bytes32("nvidia-h100"), 8, 1e18);
            vm.stopPrank();
        }
        address[5] memory payers = [
            handler.requestors(0), handler.requestors(1), handler.THIRD(), handler.providers(0), handler.providers(1)
        ];
        for (uint256 i = 0; i < payers.length; ++i) {
            require(lnq.transfer(payers[i], 10_000_000 ether), "fund");
            vm.prank(payers[i]);
            lnq.approve(address(esc), type(uint256).max);
        }
        targetContract(address(handler));
    }

    /// LNQ.balanceOf(escrow) == Σ over open escrows (deposited − withdrawn).
    function invariant_conservation() public view {
        uint256 owed;
        for (uint256 i = 0; i < handler.escrowCount(); ++i) {
            IEscrow.Terms memory t = handler.escrowAt(i);
            (uint96 deposited, uint96 withdrawn,, uint8 status) = esc.record(esc.escrowId(t));
            if (status == uint8(IEscrow.Status.Created) || status == uint8(IEscrow.Status.Active)) {
                owed += deposited - withdrawn;
            }
        }
        assertEq(lnq.balanceOf(address(esc)), owed, "escrow balance == open liabilities");
    }

    /// withdrawn <= earned <= deposited for every escrow, and closed escrows keep consistent records.
    function invariant_earnedBounded() public view {
        for (uint256 i = 0; i < handler.escrowCount(); ++i) {
            IEscrow.Terms memory t = handler.escrowAt(i);
            IEscrow.EscrowView memory v = esc.getEscrow(t);
            assertLe(v.withdrawn, v.earned, "withdrawn <= earned");
            assertLe(v.earned, v.deposited, "earned <= deposited");
            assertEq(v.remaining + v.earned, v.deposited, "remaining = deposited - earned");
            if (v.status == IEscrow.Status.Completed) assertEq(v.withdrawn, v.deposited, "completed pays all");
            if (v.status == IEscrow.Status.Cancelled) assertEq(v.withdrawn, 0, "cancelled pays nothing");
        }
        assertTrue(!handler.earnedDecreased(), "earned decreased with time");
        assertTrue(!handler.earnedAboveDeposit(), "earned exceeded deposit");
    }

    /// Used capacity == Σ resources reserved by open escrows, per provider and resource.
    function invariant_usedCapacity() public view {
        for (uint256 p = 0; p < 2; ++p) {
            address provider = handler.providers(p);
            uint256 cpu;
            uint256 mem;
            uint256 st;
            uint256 gpu;
            for (uint256 i = 0; i < handler.escrowCount(); ++i) {
                IEscrow.Terms memory t = handler.escrowAt(i);
                if (t.provider != provider || !handler.isOpen(t)) continue;
                cpu += t.resources.cpuMillis;
                mem += t.resources.memoryMiB;
                st += t.resources.storageGiB;
                gpu += t.resources.gpuCount;
            }
            IProviderRegistry.Capacity memory used = reg.usedCapacity(provider);
            assertEq(used.cpuMillis, cpu, "cpu");
            assertEq(used.memoryMiB, mem, "memory");
            assertEq(used.storageGiB, st, "storage");
            assertEq(reg.gpuClass(provider, 1).used, gpu, "gpu");
        }
    }

    /// Properties observed during calls: settlement to the wei, finalize liveness, single-use offers bound to
    /// this contract, and only the requestor stops or cancels.
    function invariant_callProperties() public view {
        assertTrue(!handler.settlementMismatch(), "provider + refund != deposited");
        assertTrue(!handler.finalizeRevertedWhenEnded(), "finalize reverted for an ended escrow");
        assertTrue(!handler.offerReused(), "an offer was used twice");
        assertTrue(!handler.foreignOfferAccepted(), "an offer for another contract was accepted");
        assertTrue(
            !handler.strangerStoppedOrCancelled(),
            "someone other than the requestor stopped, or cancelled within the start window, or declined"
        );
    }

    /// withdrawMany never reverts for one provider's non-empty batch, whatever happened to its escrows (moved,
    /// cancelled, declined, stopped, finalized), and pays exactly the sum of what was withdrawable.
    function invariant_withdrawManyPaysWhatIsDue() public view {
        assertTrue(!handler.withdrawManyReverted(), "withdrawMany reverted");
        assertTrue(!handler.withdrawManyMispaid(), "withdrawMany paid other than the sum withdrawable");
    }

    /// An id is never reused (a moved escrow's terms cannot be created again) and no top-up takes a deposit past
    /// its bound (the offer's maxDuration in whole hours; 65,535 hours for registry prices).
    function invariant_idsAndBounds() public view {
        assertTrue(!handler.idReused(), "an id was created twice");
        assertTrue(!handler.topUpAboveBound(), "a top-up exceeded the escrow's duration bound");
    }

    /// Reputation follows the rules: self-dealt escrows never count; `cancelled` counts only escrows cancelled
    /// after the start window; `stoppedEarly` only stops after the minimum prepaid period; `completed` every
    /// finalize; `totalEarned` exactly what stops and finalizes paid. Declines, moves and in-window cancels count
    /// nothing.
    function invariant_reputationFollowsRules() public view {
        for (uint256 p = 0; p < 2; ++p) {
            address provider = handler.providers(p);
            IProviderRegistry.Reputation memory rep = reg.getProvider(provider).reputation;
            assertEq(rep.completed, handler.expCompleted(provider), "completed");
            assertEq(rep.stoppedEarly, handler.expStopped(provider), "stoppedEarly");
            assertEq(rep.cancelled, handler.expCancelled(provider), "cancelled");
            assertEq(rep.totalEarned, handler.expEarned(provider), "totalEarned");
        }
    }

    /// Σ balances == totalSupply (no LNQ created or destroyed).
    function invariant_supply() public view {
        uint256 sum = lnq.balanceOf(address(this)) + lnq.balanceOf(address(esc)) + lnq.balanceOf(handler.THIRD());
        for (uint256 i = 0; i < 2; ++i) {
            sum += lnq.balanceOf(handler.providers(i)) + lnq.balanceOf(handler.requestors(i));
        }
        assertEq(sum, lnq.totalSupply(), "supply conserved");
    }
}
