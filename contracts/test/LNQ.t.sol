// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {LNQ} from "../src/LNQ.sol";

contract LNQTest is Test {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    function test_metadataAndSupply() public {
        LNQ t = new LNQ(address(0xA), 1e27);
        assertTrue(keccak256(bytes(t.name())) == keccak256("Linq"), "name");
        assertTrue(keccak256(bytes(t.symbol())) == keccak256("LNQ"), "symbol");
        assertEq(t.decimals(), 18, "decimals");
        assertEq(t.totalSupply(), 1e27, "supply");
        assertEq(t.balanceOf(address(0xA)), 1e27, "holder");
    }

    function test_supplyMustFit96Bits() public {
        vm.expectRevert(abi.encodeWithSelector(LNQ.SupplyTooLarge.selector, 2 ** 96, 2 ** 96 - 1));
        new LNQ(address(0xA), 2 ** 96);
        new LNQ(address(0xA), 2 ** 96 - 1);
    }

    function test_permit() public {
        uint256 key = 0xC0FFEE;
        address owner = vm.addr(key);
        LNQ t = new LNQ(owner, 1e27);
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, address(0xB), 5, 0, block.timestamp + 1));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", t.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        t.permit(owner, address(0xB), 5, block.timestamp + 1, v, r, s);
        assertEq(t.allowance(owner, address(0xB)), 5, "allowance");
        assertEq(t.nonces(owner), 1, "nonce");
    }
}
