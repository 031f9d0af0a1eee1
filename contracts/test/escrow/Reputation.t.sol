// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";
import {EscrowBase} from "./EscrowBase.sol";

/// @notice The reputation rules (issue 19, finding 6): what moves a provider's figures and what does not.
contract ReputationTest is EscrowBase {
    function _rep(address p) internal view returns (IProviderRegistry.Reputation memory) {
        return reg.getProvider(p).reputation;
    }

    function _assertRep(address p, uint256 completed, uint256 stopped, uint256 cancelled, uint256 earned)
        internal
        view
    {
        IProviderRegistry.Reputation memory rep = _rep(p);
        assertEq(rep.completed, completed, "completed");
        assertEq(rep.stoppedEarly, stopped, "stoppedEarly");
        assertEq(rep.cancelled, cancelled, "cancelled");
        assertEq(rep.totalEarned, earned, "totalEarned");
    }

    /// Cancellations by the requestor inside the start window and the provider's declines count nothing: neither
    /// side can move the other's figures by creating and closing escrows for gas alone.
    function test_cancelAndDecline_countNothing() public {
        for (uint256 i = 0; i < 5; ++i) {
            IEscrow.Terms memory t = _create(r1, p1, _day(), bytes32(i));
            vm.prank(i % 2 == 0 ? r1 : p1);
            if (i % 2 == 0) esc.cancel(t);
            else esc.decline(t);
        }
        _assertRep(p1, 0, 0, 0, 0);
    }

    /// An escrow the provider neither starts nor declines within the window counts as `cancelled` when it is
    /// cancelled after the window, whoever cancels it (the provider could have declined for free).
    function test_unansweredEscrow_countsCancelled() public {
        IEscrow.Terms memory a = _create(r1, p1, _day(), "a");
        IEscrow.Terms memory b = _create(r2, p1, _day(), "b");
        vm.warp(_now() + esc.START_WINDOW());
        vm.prank(r1);
        esc.cancel(a);
        vm.prank(anyone);
        esc.cancel(b);
        _assertRep(p1, 0, 0, 2, 0);
    }

    /// A stop before the requestor paid the minimum prepaid period counts the payment only; after it, the stop
    /// counts as `stoppedEarly`. A griefer who wants to mark a provider "stopped early" pays it that period first.
    function test_stop_countsOnlyAfterMinimumPrepaid() public {
        IEscrow.Terms memory quick = _createStarted(r1, p1, _day(), "q");
        vm.warp(_now() + MIN_PREPAID - 1);
        uint256 e1 = esc.earned(quick);
        vm.prank(r1);
        esc.stop(quick);
        _assertRep(p1, 0, 0, 0, e1);
        IEscrow.Terms memory later = _createStarted(r1, p1, _day(), "l");
        vm.warp(_now() + MIN_PREPAID);
        uint256 e2 = esc.earned(later);
        assertGe(e2 * 3600, uint256(later.ratePerHour) * MIN_PREPAID, "paid the minimum");
        vm.prank(r1);
        esc.stop(later);
        _assertRep(p1, 0, 1, 0, e1 + e2);
    }

    /// Self-dealing from the provider's own address moves nothing: complete, stop or leave unanswered, the
    /// figures stay as they were, and the provider got its own money back.
    function test_selfDealing_sameAddress_movesNothing() public {
        require(lnq.transfer(p1, 100 * _day()), "fund");
        vm.prank(p1);
        lnq.approve(address(esc), type(uint256).max);
        uint256 before = lnq.balanceOf(p1);
        IEscrow.Terms memory done = _createStarted(p1, p1, _day(), "d");
        IEscrow.Terms memory stopped = _createStarted(p1, p1, _day(), "s");
        IEscrow.Terms memory unanswered = _create(p1, p1, _day(), "u");
        vm.warp(_now() + 2 hours);
        vm.prank(p1);
        esc.stop(stopped);
        vm.warp(_now() + 2 days);
        esc.finalize(done);
        esc.cancel(unanswered);
        _assertRep(p1, 0, 0, 0, 0);
        assertEq(lnq.balanceOf(p1), before, "all of it came back");
    }

    /// What the rules do NOT prevent (docs/contracts.md says so): a provider paying itself from a second address
    /// is a customer like any other. It locks its own capital and capacity for the whole run and gains the
    /// figures; the market's score caps successes by totalEarned but cannot tell this customer from a real one.
    function test_selfDealing_secondAddress_isNotDetected() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "w"); // r1 stands for p1's second wallet
        vm.warp(_now() + 1 days);
        esc.finalize(t);
        _assertRep(p1, 1, 0, 0, _day());
    }
}
