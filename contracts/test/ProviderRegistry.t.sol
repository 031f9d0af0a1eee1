// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./utils/Fixture.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {IProviderRegistry} from "../src/interfaces/IProviderRegistry.sol";
import {IEscrow} from "../src/interfaces/IEscrow.sol";
import {Resources} from "../src/interfaces/Types.sol";

contract ProviderRegistryTest is Fixture {
    address internal p3 = address(0x3003);

    function test_register_storesEverything() public {
        vm.warp(1_800_000_000);
        vm.expectEmit();
        emit IProviderRegistry.ProviderRegistered(p3, _capacity(1000, 2048, 50), _prices(), bytes32("us-east"), META);
        vm.prank(p3);
        reg.register(_capacity(1000, 2048, 50), _prices(), bytes32("us-east"), META);
        IProviderRegistry.ProviderView memory v = reg.getProvider(p3);
        assertEq(v.provider, p3);
        assertTrue(v.active, "active");
        assertEq(v.registeredAt, 1_800_000_000, "registeredAt");
        assertEq(v.region, bytes32("us-east"));
        assertEq(v.metaHash, META);
        assertEq(v.total.cpuMillis, 1000, "cpu");
        assertEq(v.total.memoryMiB, 2048, "mem");
        assertEq(v.total.storageGiB, 50, "storage");
        assertEq(v.used.cpuMillis, 0, "used");
        assertEq(v.prices.cpuPerMilliHour, CPU_PRICE, "price");
        assertEq(v.gpuClassIds.length, 0, "gpu ids");
        assertEq(reg.providerCount(), 3, "count");
        assertTrue(reg.isRegistered(p3));
    }

    function test_register_twiceReverts() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.AlreadyRegistered.selector, p1));
        vm.prank(p1);
        reg.register(_capacity(1, 1, 1), _prices(), REGION, META);
    }

    function test_register_emptyRegionReverts() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidRegion.selector, bytes32(0)));
        vm.prank(p3);
        reg.register(_capacity(1, 1, 1), _prices(), bytes32(0), META);
        bytes32 leftPadded = bytes32(uint256(0x6575));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidRegion.selector, leftPadded));
        vm.prank(p3);
        reg.register(_capacity(1, 1, 1), _prices(), leftPadded, META);
    }

    function test_updates_requireRegistration() public {
        bytes memory err = abi.encodeWithSelector(IProviderRegistry.NotRegistered.selector, p3);
        vm.startPrank(p3);
        vm.expectRevert(err);
        reg.updateBaseRanges(_prices());
        vm.expectRevert(err);
        reg.updateCapacity(_capacity(1, 1, 1));
        vm.expectRevert(err);
        reg.updateGpuClass(1, H100, 1, 1);
        vm.expectRevert(err);
        reg.updateMeta(META);
        vm.expectRevert(err);
        reg.publishMeta(bytes("doc"));
        vm.expectRevert(err);
        reg.updateRegion(REGION);
        vm.expectRevert(err);
        reg.deactivate();
        vm.expectRevert(err);
        reg.reactivate();
        vm.stopPrank();
    }

    function test_updateBaseRanges() public {
        IProviderRegistry.BaseRanges memory p = IProviderRegistry.BaseRanges(1, 2, 3);
        vm.expectEmit();
        emit IProviderRegistry.BaseRangesUpdated(p1, p);
        vm.prank(p1);
        reg.updateBaseRanges(p);
        assertEq(reg.quote(p1, _res()), 1000 * 1 + 2048 * 2 + 10 * 3, "quote at new prices");
    }

    function test_updateCapacity_andBelowUsed() public {
        _create(r1, p1, _day(), "a"); // uses 1000 / 2048 / 10
        vm.startPrank(p1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.CapacityBelowUsed.selector, 0, 999, 1000));
        reg.updateCapacity(_capacity(999, 4096, 10));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.CapacityBelowUsed.selector, 1, 2047, 2048));
        reg.updateCapacity(_capacity(1000, 2047, 10));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.CapacityBelowUsed.selector, 2, 9, 10));
        reg.updateCapacity(_capacity(1000, 2048, 9));
        vm.expectEmit();
        emit IProviderRegistry.CapacityUpdated(p1, _capacity(1000, 2048, 10));
        reg.updateCapacity(_capacity(1000, 2048, 10));
        vm.stopPrank();
        IProviderRegistry.ProviderView memory v = reg.getProvider(p1);
        assertEq(v.total.cpuMillis, 1000, "total cpu");
        assertEq(v.used.cpuMillis, 1000, "used cpu kept");
        assertTrue(v.active, "still active");
    }

    function test_updateGpuClass() public {
        vm.startPrank(p2);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidGpuModel.selector, uint16(7)));
        reg.updateGpuClass(7, bytes32(0), 1, 1);
        vm.expectEmit();
        emit IProviderRegistry.GpuClassUpdated(p2, 7, H100, 4, 5);
        reg.updateGpuClass(7, H100, 4, 5);
        reg.updateGpuClass(7, H100, 6, 9); // update: no new id
        vm.stopPrank();
        IProviderRegistry.GpuClass memory g = reg.gpuClass(p2, 7);
        assertEq(g.model, H100);
        assertEq(g.total, 6, "total");
        assertEq(g.pricePerHour, 9, "price");
        assertEq(reg.getProvider(p2).gpuClassIds.length, 1, "one class id");
    }

    function test_updateGpuClass_belowUsedAndTooMany() public {
        Resources memory r = Resources(100, 100, 1, 1, 3);
        vm.prank(r1);
        esc.create(p1, r, 1000 ether, type(uint128).max, "gpu");
        assertEq(reg.gpuClass(p1, 1).used, 3, "gpu used");
        vm.startPrank(p1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.CapacityBelowUsed.selector, 3, 2, 3));
        reg.updateGpuClass(1, H100, 2, GPU_PRICE);
        for (uint16 id = 2; id <= 16; ++id) {
            reg.updateGpuClass(id, H100, 1, 1);
        }
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.TooManyGpuClasses.selector, 16));
        reg.updateGpuClass(17, H100, 1, 1);
        vm.stopPrank();
    }

    function test_publishMeta() public {
        bytes memory doc = bytes('{"gateway":"https://gw.example:8443","tls":"sha256:00"}');
        vm.startPrank(p1);
        vm.expectEmit();
        emit IProviderRegistry.MetaPublished(p1, keccak256(doc), doc);
        reg.publishMeta(doc);
        assertEq(reg.getProvider(p1).metaHash, keccak256(doc));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidMeta.selector, 0, 1024));
        reg.publishMeta("");
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidMeta.selector, 1025, 1024));
        reg.publishMeta(new bytes(1025));
        vm.stopPrank();
    }

    function test_metaRegionActive() public {
        vm.startPrank(p1);
        vm.expectEmit();
        emit IProviderRegistry.MetaUpdated(p1, bytes32("x"));
        reg.updateMeta(bytes32("x"));
        vm.expectEmit();
        emit IProviderRegistry.RegionUpdated(p1, bytes32("ap-south"));
        reg.updateRegion(bytes32("ap-south"));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidRegion.selector, bytes32(0)));
        reg.updateRegion(bytes32(0));
        vm.expectEmit();
        emit IProviderRegistry.ProviderDeactivated(p1);
        reg.deactivate();
        vm.stopPrank();
        IProviderRegistry.ProviderView memory v = reg.getProvider(p1);
        assertEq(v.metaHash, bytes32("x"));
        assertEq(v.region, bytes32("ap-south"));
        assertTrue(!v.active, "inactive");
        Resources memory r = _res();
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.ProviderInactive.selector, p1));
        vm.prank(r1);
        esc.create(p1, r, _day(), type(uint128).max, "s");
        vm.expectEmit();
        emit IProviderRegistry.ProviderReactivated(p1);
        vm.prank(p1);
        reg.reactivate();
        _create(r1, p1, _day(), "s");
    }

    function test_paging_andBulkRead() public {
        vm.prank(p3);
        reg.register(_capacity(1, 1, 1), _prices(), REGION, META);
        address[] memory page = reg.providersPage(1, 5);
        assertEq(page.length, 2, "page length");
        assertEq(page[0], p2);
        assertEq(page[1], p3);
        assertEq(reg.providersPage(3, 5).length, 0, "past the end");
        assertEq(reg.providersPage(0, 1).length, 1, "limit");
        address[] memory who = new address[](2);
        who[0] = p3;
        who[1] = address(0xdead);
        IProviderRegistry.ProviderView[] memory views = reg.getProviders(who);
        assertEq(views[0].total.cpuMillis, 1, "p3 read");
        assertEq(views[1].registeredAt, 0, "unknown provider reads empty");
        assertTrue(!reg.isRegistered(address(0xdead)));
    }

    function test_quote() public {
        assertEq(reg.quote(p1, _res()), _rate(_res()), "quote = sum of unit prices");
        Resources memory g = Resources(0, 0, 0, 1, 2);
        assertEq(reg.quote(p1, g), 2 * GPU_PRICE, "gpu quote");
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.UnknownGpuClass.selector, p2, uint16(1)));
        reg.quote(p2, g);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotRegistered.selector, p3));
        reg.quote(p3, g);
    }

    function test_escrowOnly() public {
        Resources memory r = _res();
        bytes memory err = abi.encodeWithSelector(IProviderRegistry.NotEscrow.selector, address(this));
        vm.expectRevert(err);
        reg.reserve(p1, r);
        vm.expectRevert(err);
        reg.reserveAt(p1, r);
        vm.expectRevert(err);
        reg.release(p1, r, 1, 0);
    }

    function test_release_invalidOutcome() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidOutcome.selector, uint8(5)));
        vm.prank(address(esc));
        reg.release(p1, Resources(0, 0, 0, 0, 0), 5, 0);
    }

    function test_reserve_insufficientCapacity() public {
        vm.startPrank(address(esc));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InsufficientCapacity.selector, 0, 64_001, 64_000));
        reg.reserve(p1, Resources(64_001, 0, 0, 0, 0));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InsufficientCapacity.selector, 1, 262_145, 262_144));
        reg.reserve(p1, Resources(0, 262_145, 0, 0, 0));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InsufficientCapacity.selector, 2, 4001, 4000));
        reg.reserve(p1, Resources(0, 0, 4001, 0, 0));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InsufficientCapacity.selector, 3, 9, 8));
        reg.reserve(p1, Resources(0, 0, 0, 1, 9));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.UnknownGpuClass.selector, p1, uint16(2)));
        reg.reserve(p1, Resources(0, 0, 0, 2, 1));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotRegistered.selector, p3));
        reg.reserveAt(p3, Resources(1, 0, 0, 0, 0));
        // exactly full is fine, one more is not
        reg.reserve(p1, Resources(64_000, 262_144, 4000, 1, 8));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InsufficientCapacity.selector, 0, 1, 0));
        reg.reserve(p1, Resources(1, 0, 0, 0, 0));
        vm.stopPrank();
        IProviderRegistry.Capacity memory used = reg.usedCapacity(p1);
        assertEq(used.cpuMillis, 64_000, "cpu full");
        assertEq(used.memoryMiB, 262_144, "memory full");
        assertEq(used.storageGiB, 4000, "storage full");
    }

    function test_release_countsReputation() public {
        vm.startPrank(address(esc));
        Resources memory r = _res();
        reg.reserve(p1, r);
        reg.reserve(p1, r);
        reg.reserve(p1, r);
        reg.reserve(p1, r);
        reg.reserve(p1, r);
        reg.release(p1, r, 0, 0);
        reg.release(p1, r, 1, 100);
        reg.release(p1, r, 2, 7);
        reg.release(p1, r, 3, 0);
        reg.release(p1, r, 4, 5);
        vm.stopPrank();
        IProviderRegistry.Reputation memory rep = reg.getProvider(p1).reputation;
        assertEq(rep.completed, 1, "completed");
        assertEq(rep.stoppedEarly, 1, "stopped");
        assertEq(rep.cancelled, 1, "cancelled");
        assertEq(rep.totalEarned, 112, "earned (outcome 4 counts the payment only)");
        assertEq(reg.usedCapacity(p1).cpuMillis, 0, "all released");
    }

    function test_bindEscrow_onceByDeployer() public {
        ProviderRegistry fresh = new ProviderRegistry();
        assertEq(fresh.deployer(), address(this));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotDeployer.selector, r1));
        vm.prank(r1);
        fresh.bindEscrow(address(esc));
        vm.expectRevert(IProviderRegistry.ZeroEscrow.selector);
        fresh.bindEscrow(address(0));
        vm.expectEmit();
        emit IProviderRegistry.EscrowBound(address(esc));
        fresh.bindEscrow(address(esc));
        assertEq(fresh.escrow(), address(esc));
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.EscrowAlreadyBound.selector, address(esc)));
        fresh.bindEscrow(address(0xbeef));
    }

    function testFuzz_reserveRelease_roundTrip(uint32 cpu, uint32 mem, uint32 st) public {
        cpu = uint32(bound(cpu, 0, 64_000));
        mem = uint32(bound(mem, 0, 262_144));
        st = uint32(bound(st, 0, 4000));
        Resources memory r = Resources(cpu, mem, st, 0, 0);
        vm.startPrank(address(esc));
        reg.reserve(p1, r);
        IProviderRegistry.Capacity memory used = reg.usedCapacity(p1);
        assertEq(used.cpuMillis, cpu, "cpu");
        assertEq(used.memoryMiB, mem, "mem");
        assertEq(used.storageGiB, st, "st");
        reg.release(p1, r, 2, 1);
        vm.stopPrank();
        used = reg.usedCapacity(p1);
        assertEq(uint256(used.cpuMillis) + used.memoryMiB + used.storageGiB, 0, "released");
        assertEq(reg.getProvider(p1).total.cpuMillis, 64_000, "total untouched");
    }

    // silence unused import warning for IEscrow in this file
    function _unused(IEscrow) internal pure {}
}
