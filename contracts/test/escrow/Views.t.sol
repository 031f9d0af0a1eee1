// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrantToken} from "../utils/Wallets.sol";
import {Escrow} from "../../src/Escrow.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {EscrowBase} from "./EscrowBase.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @notice Escrow.views.
contract ViewsTest is EscrowBase {
    function test_views_andImmutables() public view {
        assertEq(esc.token(), address(lnq));
        assertEq(esc.registry(), address(reg));
        assertEq(esc.minPrepaidSeconds(), MIN_PREPAID, "min prepaid");
        IEscrow.Terms memory unknown = _terms(r1, p1, _res(), "none");
        IEscrow.EscrowView memory v = esc.getEscrow(unknown);
        assertEq(uint256(v.status), 0, "None");
        assertEq(v.deposited + v.earned + v.end, 0, "empty");
        assertEq(esc.endOf(unknown), 0, "no end");
        assertEq(esc.earned(unknown), 0, "no earnings");
    }

    function test_reentrancyLock() public {
        ReentrantToken token = new ReentrantToken();
        ProviderRegistry reg2 = new ProviderRegistry();
        Escrow esc2 = new Escrow(IERC20(address(token)), reg2, 0);
        reg2.bindEscrow(address(esc2));
        vm.prank(p1);
        reg2.register(_capacity(64_000, 262_144, 4_000), _prices(), REGION, META);
        IEscrow.Terms memory t = _terms(r1, p1, _res(), "x");
        token.arm(esc2, abi.encodeCall(IEscrow.withdraw, (t)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        vm.prank(r1);
        esc2.create(p1, _res(), 1 ether, type(uint128).max, "x");
    }
}
