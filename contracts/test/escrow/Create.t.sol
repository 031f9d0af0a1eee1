// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";
import {Resources} from "../../src/interfaces/Types.sol";
import {EscrowBase} from "./EscrowBase.sol";

/// @notice Escrow.create.
contract CreateTest is EscrowBase {
    function test_create_recordsFundsAndReserves() public {
        Resources memory r = _res();
        IEscrow.Terms memory t = _terms(r1, p1, r, "s1");
        bytes32 id = keccak256(abi.encode(t));
        uint256 before = lnq.balanceOf(r1);
        vm.expectEmit();
        emit IEscrow.EscrowCreated(id, r1, p1, t, _day(), bytes32(0));
        vm.prank(r1);
        bytes32 got = esc.create(p1, r, _day(), _rate(r), "s1");
        assertEq(got, id, "id is the hash of the terms");
        assertEq(esc.escrowId(t), id, "escrowId view");
        (uint96 dep, uint96 wd, uint40 st, uint8 status) = esc.record(id);
        assertEq(dep, _day(), "deposited");
        assertEq(wd, 0, "nothing withdrawn");
        assertEq(st, _now(), "the start field holds the creation time while Created");
        assertEq(esc.getEscrow(t).start, 0, "the view reports no start while Created");
        assertEq(esc.startDeadline(t), _now() + esc.START_WINDOW(), "start window");
        assertEq(status, uint8(IEscrow.Status.Created), "Created");
        assertEq(lnq.balanceOf(address(esc)), _day(), "escrow holds the deposit");
        assertEq(before - lnq.balanceOf(r1), _day(), "requestor paid");
        assertEq(reg.usedCapacity(p1).cpuMillis, 1000, "capacity reserved");
    }

    function test_create_reverts() public {
        Resources memory r = _res();
        uint128 rate = _rate(r);
        vm.startPrank(r1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.RateAboveMax.selector, rate, rate - 1));
        esc.create(p1, r, _day(), rate - 1, "s");
        uint256 required = (uint256(rate) * MIN_PREPAID + 3599) / 3600;
        vm.expectRevert(abi.encodeWithSelector(IEscrow.BelowMinPrepaid.selector, required - 1, required));
        esc.create(p1, r, required - 1, rate, "s");
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        esc.create(p1, r, 0, rate, "s");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.AmountTooLarge.selector, uint256(2) ** 96));
        esc.create(p1, r, 2 ** 96, rate, "s");
        vm.expectRevert(IEscrow.ZeroRate.selector);
        esc.create(p1, Resources(0, 0, 0, 0, 0), 1 ether, rate, "s");
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotRegistered.selector, address(0x99)));
        esc.create(address(0x99), r, _day(), rate, "s");
        esc.create(p1, r, required, rate, "s"); // exactly the minimum is fine
        IEscrow.Terms memory t = _terms(r1, p1, r, "s");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.EscrowExists.selector, keccak256(abi.encode(t))));
        esc.create(p1, r, _day(), rate, "s");
        vm.stopPrank();
    }

    function test_create_withGpu() public {
        Resources memory r = Resources(1000, 2048, 10, 1, 2);
        vm.prank(r1);
        esc.create(p1, r, 100 ether, type(uint128).max, "g");
        IEscrow.Terms memory t = _terms(r1, p1, r, "g");
        assertEq(t.ratePerHour, _rate(_res()) + 2 * GPU_PRICE, "gpu priced");
        assertEq(_status(t), uint256(IEscrow.Status.Created), "created");
        assertEq(reg.gpuClass(p1, 1).used, 2, "gpus reserved");
        vm.prank(r1);
        esc.cancel(t);
        assertEq(reg.gpuClass(p1, 1).used, 0, "gpus released");
    }

    function test_createWithPermit() public {
        address r3 = vm.addr(R3_KEY);
        require(lnq.transfer(r3, 10 ether), "fund");
        IEscrow.PermitSig memory p = _permit(R3_KEY, _day());
        vm.prank(r3);
        esc.createWithPermit(p1, _res(), _day(), type(uint128).max, "p", p);
        assertEq(lnq.balanceOf(address(esc)), _day(), "funded by permit");
        assertEq(lnq.allowance(r3, address(esc)), 0, "exact permit spent");
    }

    function test_createWithPermit_frontRunPermitStillWorks() public {
        address r3 = vm.addr(R3_KEY);
        require(lnq.transfer(r3, 10 ether), "fund");
        IEscrow.PermitSig memory p = _permit(R3_KEY, _day());
        lnq.permit(r3, address(esc), p.value, p.deadline, p.v, p.r, p.s); // a griefer submits it first
        vm.prank(r3);
        esc.createWithPermit(p1, _res(), _day(), type(uint128).max, "p", p);
        assertEq(lnq.balanceOf(address(esc)), _day(), "funded despite the used permit");
    }

    function test_createWithPermit_badPermitWithoutAllowanceReverts() public {
        address r3 = vm.addr(R3_KEY);
        require(lnq.transfer(r3, 10 ether), "fund");
        IEscrow.PermitSig memory p = _permit(R3_KEY, _day());
        p.s = bytes32(uint256(p.s) ^ 1);
        vm.expectRevert();
        vm.prank(r3);
        esc.createWithPermit(p1, _res(), _day(), type(uint128).max, "p", p);
    }
}
