// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {EscrowBase} from "./EscrowBase.sol";

/// @notice Escrow.finalize.
contract FinalizeTest is EscrowBase {
    function test_finalize_byAnyoneAfterEnd() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        uint256 end = esc.endOf(t);
        vm.warp(end - 1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NotEnded.selector, id, uint40(end)));
        esc.finalize(t);
        vm.warp(_now() + 10 hours);
        vm.expectEmit();
        emit IEscrow.Finalized(id, anyone, _day(), 0);
        vm.prank(anyone);
        esc.finalize(t);
        assertEq(lnq.balanceOf(p1), _day(), "provider paid in full");
        assertEq(reg.usedCapacity(p1).cpuMillis, 0, "released");
        assertEq(reg.getProvider(p1).reputation.completed, 1, "completed");
        IEscrow.EscrowView memory v = esc.getEscrow(t);
        assertEq(uint256(v.status), uint256(IEscrow.Status.Completed), "Completed");
        assertEq(v.end, end, "end view after completion");
        assertEq(v.withdrawn, _day(), "withdrawn = total paid");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Completed));
        esc.finalize(t);
        IEscrow.Terms memory fresh = _create(r1, p1, _day(), "x");
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.WrongStatus.selector, esc.escrowId(fresh), IEscrow.Status.Created)
        );
        esc.finalize(fresh);
        vm.prank(r1);
        esc.cancel(fresh);
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.WrongStatus.selector, esc.escrowId(fresh), IEscrow.Status.Cancelled)
        );
        esc.finalize(fresh);
    }
}
