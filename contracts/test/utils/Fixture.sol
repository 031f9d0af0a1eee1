// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./Test.sol";
import {LNQ} from "../../src/LNQ.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {Escrow} from "../../src/Escrow.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";
import {Resources} from "../../src/interfaces/Types.sol";

/// @notice Deployed protocol with two registered providers and funded, approving requestors.
abstract contract Fixture is Test {
    uint256 internal constant SUPPLY = 1_000_000_000 ether;
    uint64 internal constant MIN_PREPAID = 600;
    uint64 internal constant CPU_PRICE = 1e13; // wei per millicore-hour: 0.01 LNQ per vCPU-hour
    uint64 internal constant MEM_PRICE = 5e12; // wei per MiB-hour
    uint64 internal constant STORAGE_PRICE = 1e13; // wei per GiB-hour
    uint128 internal constant GPU_PRICE = 1e18; // wei per GPU-hour
    bytes32 internal constant REGION = bytes32("eu-west");
    bytes32 internal constant META = keccak256("ipfs://provider-meta");
    bytes32 internal constant H100 = bytes32("nvidia-h100");

    uint256 internal constant P1_KEY = 0xA11CE;
    uint256 internal constant P2_KEY = 0xB0B;

    LNQ internal lnq;
    ProviderRegistry internal reg;
    Escrow internal esc;

    address internal p1;
    address internal p2;
    address internal r1 = address(0x1001);
    address internal r2 = address(0x1002);
    address internal anyone = address(0x1003);

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        p1 = vm.addr(P1_KEY);
        p2 = vm.addr(P2_KEY);
        lnq = new LNQ(address(this), SUPPLY);
        reg = new ProviderRegistry();
        esc = new Escrow(lnq, reg, MIN_PREPAID);
        reg.bindEscrow(address(esc));
        _register(p1);
        _register(p2);
        vm.prank(p1);
        reg.updateGpuClass(1, H100, 8, GPU_PRICE);
        address[3] memory payers = [r1, r2, anyone];
        for (uint256 i = 0; i < payers.length; ++i) {
            require(lnq.transfer(payers[i], 1_000_000 ether), "fund");
            vm.prank(payers[i]);
            lnq.approve(address(esc), type(uint256).max);
        }
        vm.label(p1, "p1");
        vm.label(p2, "p2");
        vm.label(r1, "r1");
        vm.label(r2, "r2");
    }

    function _register(address p) internal {
        vm.prank(p);
        reg.register(_capacity(64_000, 262_144, 4_000), _prices(), REGION, META);
    }

    function _capacity(uint32 cpu, uint32 mem, uint32 st) internal pure returns (IProviderRegistry.Capacity memory) {
        return IProviderRegistry.Capacity(cpu, mem, st);
    }

    function _prices() internal pure returns (IProviderRegistry.BaseRanges memory) {
        return IProviderRegistry.BaseRanges(CPU_PRICE, MEM_PRICE, STORAGE_PRICE);
    }

    function _res() internal pure returns (Resources memory) {
        return Resources({cpuMillis: 1000, memoryMiB: 2048, storageGiB: 10, gpuClass: 0, gpuCount: 0});
    }

    function _rate(Resources memory r) internal pure returns (uint128) {
        return uint128(uint256(r.cpuMillis) * CPU_PRICE + uint256(r.memoryMiB) * MEM_PRICE
            + uint256(r.storageGiB) * STORAGE_PRICE + uint256(r.gpuCount) * (r.gpuCount == 0 ? 0 : GPU_PRICE));
    }

    function _terms(address requestor, address provider, Resources memory r, bytes32 salt)
        internal
        pure
        returns (IEscrow.Terms memory)
    {
        return IEscrow.Terms(requestor, provider, r, _rate(r), salt);
    }

    /// @dev Creates an escrow at registry prices for `hours_` hours of runway.
    function _create(address requestor, address provider, uint256 deposit, bytes32 salt)
        internal
        returns (IEscrow.Terms memory t)
    {
        Resources memory r = _res();
        vm.prank(requestor);
        esc.create(provider, r, deposit, type(uint128).max, salt);
        t = _terms(requestor, provider, r, salt);
    }

    function _createStarted(address requestor, address provider, uint256 deposit, bytes32 salt)
        internal
        returns (IEscrow.Terms memory t)
    {
        t = _create(requestor, provider, deposit, salt);
        vm.prank(provider);
        esc.start(t);
    }

    function _day() internal pure returns (uint256) {
        return uint256(_rate(_res())) * 24;
    }
}
