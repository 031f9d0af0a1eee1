// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {EscrowBase} from "./EscrowBase.sol";

/// @notice Escrow.topUp.
contract TopUpTest is EscrowBase {
    function test_topUp() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.prank(anyone);
        esc.topUp(t, 1 ether); // while Created
        vm.prank(p1);
        esc.start(t);
        uint256 endBefore = esc.endOf(t);
        uint256 deposited = _day() + 1 ether + _day();
        uint256 newEnd = _now() + (deposited * 3600 + t.ratePerHour - 1) / t.ratePerHour;
        vm.expectEmit();
        emit IEscrow.ToppedUp(id, r1, _day(), deposited);
        vm.prank(r1);
        esc.topUp(t, _day());
        assertEq(esc.endOf(t), newEnd, "end extended");
        assertGe(esc.endOf(t), endBefore + 24 hours, "by at least a day");
        assertEq(lnq.balanceOf(address(esc)), deposited, "held");
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        esc.topUp(t, 0);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.AmountTooLarge.selector, uint256(2) ** 96));
        esc.topUp(t, 2 ** 96);
        vm.warp(newEnd);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.AlreadyEnded.selector, id, uint40(newEnd)));
        vm.prank(r1);
        esc.topUp(t, 1 ether);
    }

    /// An offer's maxDuration bounds the whole deposit, top-ups included (floored to whole hours).
    function test_topUp_boundedByOfferMaxDuration() public {
        IEscrow.Offer memory o = _offer(p1, address(0), 1);
        o.maxDuration = 1 hours;
        bytes memory sig = _sign(P1_KEY, esc.offerDigest(o));
        vm.prank(r1);
        esc.createFromOffer(o, sig, uint256(o.ratePerHour) / 2, "o"); // 30 minutes
        IEscrow.Terms memory t = IEscrow.Terms(r1, p1, o.resources, o.ratePerHour, "o");
        vm.prank(r1);
        esc.topUp(t, uint256(o.ratePerHour) / 2); // exactly 1 hour in total: allowed
        vm.prank(p1);
        esc.start(t);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.DurationOutOfRange.selector, 3601, 0, 3600));
        vm.prank(r1);
        esc.topUp(t, uint256(o.ratePerHour) / 3600); // one second more: above the offer's bound
        assertEq(esc.getEscrow(t).deposited, o.ratePerHour, "unchanged");
        assertEq(esc.endOf(t), _now() + 1 hours, "the escrow ends when the offer said at most");
    }

    /// Registry-price escrows: a top-up may not take the whole deposit past 65,535 hours (about 7.5 years).
    function test_topUp_registryBound() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        uint256 cap = uint256(65_535) * t.ratePerHour;
        vm.prank(r1);
        esc.topUp(t, cap - _day());
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.DurationOutOfRange.selector, uint256(65_535) * 3600 + 1, 0, 65_535 * 3600)
        );
        vm.prank(r1);
        esc.topUp(t, uint256(t.ratePerHour) / 3600);
    }

    function test_topUp_wrongStatusAndUnknown() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        vm.prank(r1);
        esc.cancel(t);
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.WrongStatus.selector, esc.escrowId(t), IEscrow.Status.Cancelled)
        );
        vm.prank(r1);
        esc.topUp(t, 1 ether);
        IEscrow.Terms memory unknown = _terms(r1, p1, _res(), "none");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.UnknownEscrow.selector, esc.escrowId(unknown)));
        vm.prank(r1);
        esc.topUp(unknown, 1 ether);
        IEscrow.Terms memory ended = _createStarted(r1, p1, _day(), "e");
        vm.warp(_now() + 24 hours);
        esc.finalize(ended);
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.WrongStatus.selector, esc.escrowId(ended), IEscrow.Status.Completed)
        );
        vm.prank(r1);
        esc.topUp(ended, 1 ether);
    }

    /// top-up moves the end to start + ceil(deposited * 3600 / rate), exactly.
    function testFuzz_topUp_extendsEnd(uint96 first, uint96 more, uint32 after_) public {
        // below the registry top-up bound (65,535 hours at this rate, about 1,330 LNQ)
        uint256 dep = bound(first, _day() / 24, 600 ether);
        uint256 add = bound(more, 1, 600 ether);
        IEscrow.Terms memory t = _createStarted(r1, p1, dep, "f");
        uint256 t0 = _now();
        uint256 end = esc.endOf(t);
        vm.warp(t0 + bound(after_, 0, end - t0 - 1));
        vm.prank(anyone);
        esc.topUp(t, add);
        uint256 expected = t0 + ((dep + add) * 3600 + t.ratePerHour - 1) / t.ratePerHour;
        assertEq(esc.endOf(t), expected, "end");
        vm.warp(expected);
        esc.finalize(t);
        assertEq(lnq.balanceOf(p1), dep + add, "provider paid everything at the end");
    }
}
