// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {EscrowBase} from "./EscrowBase.sol";

/// @notice Escrow.stop.
contract StopTest is EscrowBase {
    function test_stop_settlesInSameTx() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.warp(_now() + 1 hours);
        esc.withdraw(t);
        vm.warp(_now() + 30 minutes + 7);
        uint256 e = esc.earned(t);
        uint256 toProvider = e - t.ratePerHour;
        uint256 refund = _day() - e;
        uint256 r1Before = lnq.balanceOf(r1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NotRequestor.selector, anyone, r1));
        vm.prank(anyone);
        esc.stop(t);
        vm.expectEmit();
        emit IEscrow.Stopped(id, uint40(_now()), toProvider, refund);
        vm.prank(r1);
        esc.stop(t);
        assertEq(lnq.balanceOf(p1), e, "provider total = earned");
        assertEq(lnq.balanceOf(r1) - r1Before, refund, "refund");
        assertEq(lnq.balanceOf(p1) + lnq.balanceOf(r1) - r1Before, _day(), "settles to the wei");
        assertEq(lnq.balanceOf(address(esc)), 0, "nothing parked");
        IEscrow.EscrowView memory v = esc.getEscrow(t);
        assertEq(uint256(v.status), uint256(IEscrow.Status.Stopped), "Stopped");
        assertEq(v.withdrawn, e, "withdrawn = total paid");
        assertEq(v.earned, e, "earned view");
        assertEq(v.remaining, refund, "remaining = refund");
        assertEq(reg.getProvider(p1).reputation.stoppedEarly, 1, "counted");
        assertEq(reg.getProvider(p1).reputation.totalEarned, e, "earned counted");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Stopped));
        vm.prank(r1);
        esc.stop(t);
    }

    function test_stop_reverts() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Created));
        vm.prank(r1);
        esc.stop(t);
        vm.prank(p1);
        esc.start(t);
        vm.warp(_now() + 24 hours);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.AlreadyEnded.selector, id, uint40(_now())));
        vm.prank(r1);
        esc.stop(t);
        esc.finalize(t);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Completed));
        vm.prank(r1);
        esc.stop(t);
    }

    /// stop at any time: provider total + refund == deposited, to the wei, whatever was withdrawn before.
    function testFuzz_stop_settlesToTheWei(uint96 deposit, uint32 atWithdraw, uint32 atStop) public {
        uint256 dep = bound(deposit, _rate(_res()), 100_000 ether);
        IEscrow.Terms memory t = _createStarted(r1, p1, dep, "f");
        uint256 end = esc.endOf(t);
        uint256 t0 = _now();
        uint256 w = bound(atWithdraw, 0, end - t0 - 1);
        uint256 s = bound(atStop, w, end - t0 - 1);
        vm.warp(t0 + w);
        if (esc.getEscrow(t).withdrawable > 0) esc.withdraw(t);
        vm.warp(t0 + s);
        uint256 r1Before = lnq.balanceOf(r1);
        vm.prank(r1);
        esc.stop(t);
        uint256 refund = lnq.balanceOf(r1) - r1Before;
        assertEq(lnq.balanceOf(p1) + refund, dep, "provider + requestor == deposited");
        assertEq(lnq.balanceOf(p1), uint256(t.ratePerHour) * s / 3600, "provider got exactly earned(stop)");
        assertEq(lnq.balanceOf(address(esc)), 0, "escrow empty");
    }
}
