// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {EscrowBase} from "./EscrowBase.sol";

/// @notice Escrow.withdrawMany.
contract WithdrawManyTest is EscrowBase {
    function test_withdrawMany() public {
        IEscrow.Terms[] memory ts = new IEscrow.Terms[](3);
        ts[0] = _createStarted(r1, p1, _day(), "a");
        ts[1] = _createStarted(r2, p1, _day(), "b");
        ts[2] = _create(r1, p1, _day(), "c"); // not started: skipped
        vm.warp(_now() + 2 hours);
        uint256 total = esc.withdrawMany(ts);
        assertEq(total, 4 * uint256(ts[0].ratePerHour), "two escrows, two hours");
        assertEq(lnq.balanceOf(p1), total, "one transfer to the provider");
        assertEq(esc.withdrawMany(ts), 0, "nothing left: no transfer, no revert");
        IEscrow.Terms[] memory mixed = new IEscrow.Terms[](2);
        mixed[0] = ts[0];
        mixed[1] = _create(r1, p2, _day(), "d");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.ProviderMismatch.selector, p1, p2));
        esc.withdrawMany(mixed);
        vm.expectRevert(IEscrow.EmptyBatch.selector);
        esc.withdrawMany(new IEscrow.Terms[](0));
    }

    /// The issue's sequence: A (r1 -> p1) started, B (r2 -> p1) created then moved to p2 by its requestor; p1's
    /// remembered batch [A, B_old] still pays A.
    function test_withdrawMany_skipsMovedEscrow() public {
        IEscrow.Terms[] memory ts = new IEscrow.Terms[](2);
        ts[0] = _createStarted(r1, p1, _day(), "a");
        ts[1] = _create(r2, p1, _day(), "b");
        vm.prank(r2);
        esc.changeProvider(ts[1], p2, type(uint128).max);
        vm.warp(_now() + 1 hours);
        vm.prank(p1);
        uint256 total = esc.withdrawMany(ts);
        assertEq(total, ts[0].ratePerHour, "A paid");
        assertEq(lnq.balanceOf(p1), total, "to the provider");
    }

    /// Ids that never existed, cancelled, declined, stopped and completed escrows are all skipped.
    function test_withdrawMany_skipsEverythingNotPayable() public {
        IEscrow.Terms[] memory ts = new IEscrow.Terms[](6);
        ts[0] = _createStarted(r1, p1, _day(), "a");
        ts[1] = _terms(r1, p1, _res(), "never");
        ts[2] = _create(r2, p1, _day(), "c");
        vm.prank(r2);
        esc.cancel(ts[2]);
        ts[3] = _create(r2, p1, _day(), "d");
        vm.prank(p1);
        esc.decline(ts[3]);
        ts[4] = _createStarted(r2, p1, _day(), "s");
        ts[5] = _createStarted(r1, p1, _day() / 24, "f"); // one hour
        vm.warp(_now() + 1 hours);
        vm.prank(r2);
        esc.stop(ts[4]);
        esc.finalize(ts[5]);
        uint256 before = lnq.balanceOf(p1);
        uint256 total = esc.withdrawMany(ts);
        assertEq(total, ts[0].ratePerHour, "only A pays");
        assertEq(lnq.balanceOf(p1) - before, total, "one transfer");
    }
}
