// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";
import {EscrowBase} from "./EscrowBase.sol";

/// @notice Escrow.changeProvider.
contract ChangeProviderTest is EscrowBase {
    function test_changeProvider() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 oldId = esc.escrowId(t);
        vm.prank(p2);
        reg.updateBaseRanges(IProviderRegistry.BaseRanges(CPU_PRICE / 2, MEM_PRICE / 2, STORAGE_PRICE / 2));
        uint128 newRate = reg.quote(p2, _res());
        IEscrow.Terms memory moved = IEscrow.Terms(r1, p2, t.resources, newRate, t.salt);
        bytes32 newId = keccak256(abi.encode(moved));
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NotRequestor.selector, p1, r1));
        vm.prank(p1);
        esc.changeProvider(t, p2, newRate);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.SameProvider.selector, p1));
        vm.prank(r1);
        esc.changeProvider(t, p1, newRate);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.RateAboveMax.selector, newRate, newRate - 1));
        vm.prank(r1);
        esc.changeProvider(t, p2, newRate - 1);
        vm.expectEmit();
        emit IEscrow.ProviderChanged(oldId, newId, p2, moved);
        vm.prank(r1);
        bytes32 got = esc.changeProvider(t, p2, newRate);
        assertEq(got, newId, "new id");
        assertEq(_status(t), uint256(IEscrow.Status.None), "old id gone");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.UnknownEscrow.selector, oldId));
        vm.prank(r1);
        esc.cancel(t);
        assertEq(_status(moved), uint256(IEscrow.Status.Created), "new id created");
        assertEq(esc.getEscrow(moved).deposited, _day(), "deposit carried over");
        assertEq(reg.usedCapacity(p1).cpuMillis, 0, "released on old provider");
        assertEq(reg.usedCapacity(p2).cpuMillis, 1000, "reserved on new provider");
        assertEq(reg.getProvider(p1).reputation.cancelled, 0, "a move is not a cancel");
        vm.prank(p2);
        esc.start(moved);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, newId, IEscrow.Status.Active));
        vm.prank(r1);
        esc.changeProvider(moved, p1, type(uint128).max);
        vm.warp(esc.endOf(moved));
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, newId, IEscrow.Status.Ended));
        vm.prank(r1);
        esc.changeProvider(moved, p1, type(uint128).max);
    }

    /// Ids are never reused: after a move, the same terms cannot be created again under the old id.
    function test_changeProvider_oldIdNeverReused() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 oldId = esc.escrowId(t);
        vm.prank(r1);
        esc.changeProvider(t, p2, type(uint128).max);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.EscrowExists.selector, oldId));
        vm.prank(r1);
        esc.create(p1, _res(), _day(), type(uint128).max, "s");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.UnknownEscrow.selector, oldId));
        esc.withdraw(t);
        (uint96 dep, uint96 wd, uint40 st, uint8 status) = esc.record(oldId);
        assertEq(uint256(dep) + wd + st + status, 0, "the record reads empty");
    }

    function test_changeProvider_minPrepaidAtNewRate() public {
        uint128 rate = _rate(_res());
        uint256 deposit = (uint256(rate) * MIN_PREPAID + 3599) / 3600; // exactly the minimum at p1's prices
        vm.prank(r1);
        esc.create(p1, _res(), deposit, rate, "m");
        IEscrow.Terms memory t = _terms(r1, p1, _res(), "m");
        vm.prank(p2);
        reg.updateBaseRanges(IProviderRegistry.BaseRanges(CPU_PRICE * 2, MEM_PRICE * 2, STORAGE_PRICE * 2));
        uint256 required = (uint256(rate) * 2 * MIN_PREPAID + 3599) / 3600;
        vm.expectRevert(abi.encodeWithSelector(IEscrow.BelowMinPrepaid.selector, deposit, required));
        vm.prank(r1);
        esc.changeProvider(t, p2, type(uint128).max);
    }
}
