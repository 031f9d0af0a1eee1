// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {EscrowBase} from "./EscrowBase.sol";

/// @notice Escrow.cancel.
contract CancelTest is EscrowBase {
    function test_cancel() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        uint256 before = lnq.balanceOf(r1);
        uint40 deadline = uint40(_now() + esc.START_WINDOW());
        vm.expectRevert(abi.encodeWithSelector(IEscrow.StartWindowOpen.selector, id, deadline));
        vm.prank(p1);
        esc.cancel(t);
        vm.expectEmit();
        emit IEscrow.Cancelled(id, _day());
        vm.prank(r1);
        esc.cancel(t);
        assertEq(lnq.balanceOf(r1) - before, _day(), "full refund");
        assertEq(reg.usedCapacity(p1).cpuMillis, 0, "released");
        assertEq(reg.getProvider(p1).reputation.cancelled, 0, "a requestor's cancel does not count");
        IEscrow.EscrowView memory v = esc.getEscrow(t);
        assertEq(uint256(v.status), uint256(IEscrow.Status.Cancelled), "Cancelled");
        assertEq(v.deposited, _day(), "deposit kept in the record");
        assertEq(v.withdrawn + v.earned, 0, "provider got nothing");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Cancelled));
        vm.prank(r1);
        esc.cancel(t);
    }

    function test_cancel_onlyWhileCreated() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "s");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, esc.escrowId(t), IEscrow.Status.Active));
        vm.prank(r1);
        esc.cancel(t);
    }

    /// WrongStatus carries the derived status: cancel after the end reports Ended, as statusOf does.
    function test_cancel_afterEnd_reportsEnded() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "s");
        vm.warp(_now() + 24 hours);
        assertEq(_status(t), uint256(IEscrow.Status.Ended), "statusOf");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, esc.escrowId(t), IEscrow.Status.Ended));
        vm.prank(r1);
        esc.cancel(t);
    }

    /// Capacity squatting: an escrow nobody starts can be cancelled by anyone once the start window has passed;
    /// the refund goes to the requestor and the provider's capacity is free again.
    function test_cancel_byAnyoneAfterStartWindow() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        uint256 deadline = _now() + esc.START_WINDOW();
        assertEq(esc.startDeadline(t), deadline, "deadline view");
        vm.warp(deadline - 1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.StartWindowOpen.selector, id, uint40(deadline)));
        vm.prank(anyone);
        esc.cancel(t);
        vm.warp(deadline);
        uint256 r1Before = lnq.balanceOf(r1);
        uint256 anyoneBefore = lnq.balanceOf(anyone);
        vm.prank(anyone);
        esc.cancel(t);
        assertEq(lnq.balanceOf(r1) - r1Before, _day(), "refund to the requestor");
        assertEq(lnq.balanceOf(anyone), anyoneBefore, "not to the caller");
        assertEq(reg.usedCapacity(p1).cpuMillis, 0, "capacity free");
        assertEq(reg.getProvider(p1).reputation.cancelled, 1, "the provider did not answer in time: counted");
        assertEq(esc.startDeadline(t), 0, "no deadline once closed");
    }

    /// The provider may still start after the window, as long as nobody cancelled.
    function test_start_afterWindowUntilCancelled() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        vm.warp(_now() + esc.START_WINDOW() + 1 hours);
        vm.prank(p1);
        esc.start(t);
        assertEq(_status(t), uint256(IEscrow.Status.Active), "started late");
    }
}
