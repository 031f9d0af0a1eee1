// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";
import {Resources} from "../../src/interfaces/Types.sol";
import {EscrowBase} from "./EscrowBase.sol";

/// @notice Escrow.start.
contract StartTest is EscrowBase {
    function test_start() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NotProvider.selector, r1, p1));
        vm.prank(r1);
        esc.start(t);
        vm.expectEmit();
        emit IEscrow.Started(id, uint40(_now()), uint40(_now() + 24 hours));
        vm.prank(p1);
        esc.start(t);
        assertEq(_status(t), uint256(IEscrow.Status.Active), "Active");
        assertEq(esc.endOf(t), _now() + 24 hours, "end");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Active));
        vm.prank(p1);
        esc.start(t);
        IEscrow.Terms memory unknown = _terms(r1, p1, _res(), "none");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.UnknownEscrow.selector, esc.escrowId(unknown)));
        vm.prank(p1);
        esc.start(unknown);
        vm.warp(_now() + 24 hours);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Ended));
        vm.prank(p1);
        esc.start(t); // the derived status, as statusOf reports it
    }

    function test_accrual_perSecond() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "s");
        uint256 t0 = _now();
        assertEq(esc.earned(t), 0, "nothing at start");
        vm.warp(t0 + 1);
        assertEq(esc.earned(t), uint256(t.ratePerHour) / 3600, "one second, floored");
        vm.warp(t0 + 3600);
        assertEq(esc.earned(t), t.ratePerHour, "one hour");
        vm.warp(t0 + 24 hours - 1);
        assertLt(esc.earned(t), _day(), "just before the end");
        assertEq(_status(t), uint256(IEscrow.Status.Active), "active before end");
        vm.warp(t0 + 24 hours);
        assertEq(esc.earned(t), _day(), "all at the end");
        assertEq(_status(t), uint256(IEscrow.Status.Ended), "Ended is derived");
        vm.warp(t0 + 100 days);
        assertEq(esc.earned(t), _day(), "capped");
    }

    /// earned follows the formula exactly, never exceeds the deposit and never decreases with time.
    function testFuzz_earned_exactAndMonotone(uint96 deposit, uint64 rate, uint32 dt1, uint32 dt2) public {
        rate = uint64(bound(rate, 1, type(uint64).max));
        uint256 minDeposit = (uint256(rate) * MIN_PREPAID + 3599) / 3600;
        uint256 dep = bound(deposit, minDeposit < 1 ? 1 : minDeposit, 1_000_000 ether);
        vm.prank(p1);
        reg.updateBaseRanges(IProviderRegistry.BaseRanges(rate, 0, 0));
        Resources memory r = Resources(1, 0, 0, 0, 0);
        vm.prank(r1);
        esc.create(p1, r, dep, rate, "f");
        IEscrow.Terms memory t = IEscrow.Terms(r1, p1, r, rate, "f");
        vm.prank(p1);
        esc.start(t);
        uint256 t0 = _now();
        uint256 end = t0 + (dep * 3600 + rate - 1) / rate;
        assertEq(esc.endOf(t), end > type(uint40).max ? type(uint40).max : end, "end formula");
        vm.warp(t0 + dt1);
        uint256 e1 = esc.earned(t);
        uint256 expect = uint256(rate) * dt1 / 3600;
        assertEq(e1, expect < dep ? expect : dep, "earned formula");
        vm.warp(t0 + uint256(dt1) + dt2);
        uint256 e2 = esc.earned(t);
        assertGe(e2, e1, "monotone");
        assertLe(e2, dep, "capped by deposit");
        assertEq(e2 == dep, _now() >= end, "ended exactly when earned == deposited");
    }
}
