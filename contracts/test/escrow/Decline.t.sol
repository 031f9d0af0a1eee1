// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {EscrowBase} from "./EscrowBase.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";

/// @notice Escrow.decline.
contract DeclineTest is EscrowBase {
    function test_decline_refundsAndReleases() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        uint256 before = lnq.balanceOf(r1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NotProvider.selector, r1, p1));
        vm.prank(r1);
        esc.decline(t);
        vm.expectEmit();
        emit IEscrow.Cancelled(id, _day());
        vm.prank(p1);
        esc.decline(t);
        assertEq(lnq.balanceOf(r1) - before, _day(), "full refund to the requestor");
        assertEq(reg.usedCapacity(p1).cpuMillis, 0, "capacity free");
        assertEq(reg.getProvider(p1).reputation.cancelled, 0, "refusing costs the provider nothing");
        assertEq(_status(t), uint256(IEscrow.Status.Cancelled), "Cancelled");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Cancelled));
        vm.prank(p1);
        esc.decline(t);
    }

    function test_decline_onlyWhileCreated() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Active));
        vm.prank(p1);
        esc.decline(t);
        vm.warp(_now() + 24 hours);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Ended));
        vm.prank(p1);
        esc.decline(t);
        IEscrow.Terms memory unknown = _terms(r1, p1, _res(), "none");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.UnknownEscrow.selector, esc.escrowId(unknown)));
        vm.prank(p1);
        esc.decline(unknown);
    }
}
