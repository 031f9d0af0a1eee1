// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {EscrowBase} from "./EscrowBase.sol";

/// @notice Escrow.withdraw.
contract WithdrawTest is EscrowBase {
    function test_withdraw_partialToProviderByAnyone() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NothingToWithdraw.selector, id));
        esc.withdraw(t);
        vm.warp(_now() + 1 hours);
        vm.expectEmit();
        emit IEscrow.Withdrawn(id, p1, t.ratePerHour);
        vm.prank(anyone);
        uint256 got = esc.withdraw(t);
        assertEq(got, t.ratePerHour, "one hour");
        assertEq(lnq.balanceOf(p1), t.ratePerHour, "paid to the provider, not the caller");
        vm.warp(_now() + 1 hours + 17);
        uint256 second = esc.withdraw(t);
        assertEq(got + second, esc.earned(t), "cumulative: no rounding leak");
        IEscrow.EscrowView memory v = esc.getEscrow(t);
        assertEq(v.withdrawn, got + second, "withdrawn");
        assertEq(v.withdrawable, 0, "nothing more now");
        assertEq(v.remaining, _day() - v.earned, "remaining");
    }

    function test_withdraw_notActive() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NothingToWithdraw.selector, id));
        esc.withdraw(t);
        IEscrow.Terms memory unknown = _terms(r1, p1, _res(), "none");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.UnknownEscrow.selector, esc.escrowId(unknown)));
        esc.withdraw(unknown);
    }
}
