// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ProviderWallet} from "../utils/Wallets.sol";
import {Escrow} from "../../src/Escrow.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";
import {EscrowBase} from "./EscrowBase.sol";

/// @notice Escrow.createFromOffer.
contract CreateFromOfferTest is EscrowBase {
    function test_createFromOffer() public {
        IEscrow.Offer memory o = _offer(p1, address(0), 7);
        bytes32 digest = esc.offerDigest(o);
        bytes memory sig = _sign(P1_KEY, digest);
        vm.expectEmit();
        emit IEscrow.OfferUsed(p1, 7);
        vm.prank(r1);
        bytes32 id = esc.createFromOffer(o, sig, 3e16, "o");
        IEscrow.Terms memory t = IEscrow.Terms(r1, p1, o.resources, o.ratePerHour, "o");
        assertEq(id, esc.escrowId(t), "id from the offer's terms");
        assertTrue(esc.isNonceUsed(p1, 7), "nonce used");
        assertTrue(!esc.isNonceUsed(p1, 6), "other nonce free");
        assertEq(reg.usedCapacity(p1).cpuMillis, 1000, "capacity reserved");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NonceUsed.selector, p1, 7));
        vm.prank(r2);
        esc.createFromOffer(o, sig, 3e16, "o2");
    }

    function test_createFromOfferWithPermit() public {
        address r3 = vm.addr(R3_KEY);
        require(lnq.transfer(r3, 10 ether), "fund");
        IEscrow.Offer memory o = _offer(p1, r3, 1);
        bytes memory sig = _sign(P1_KEY, esc.offerDigest(o));
        IEscrow.PermitSig memory p = _permit(R3_KEY, 3e16);
        vm.prank(r3);
        esc.createFromOfferWithPermit(o, sig, 3e16, "o", p);
        assertEq(lnq.balanceOf(address(esc)), 3e16, "funded");
    }

    function test_createFromOffer_reverts() public {
        IEscrow.Offer memory o = _offer(p1, r1, 1);
        bytes memory sig = _sign(P1_KEY, esc.offerDigest(o));
        // bound to r1
        vm.expectRevert(abi.encodeWithSelector(IEscrow.OfferNotForCaller.selector, r2, r1));
        vm.prank(r2);
        esc.createFromOffer(o, sig, 3e16, "o");
        // tampered economic field
        IEscrow.Offer memory cheaper = _offer(p1, r1, 1);
        cheaper.ratePerHour = 1e16;
        vm.expectRevert(abi.encodeWithSelector(IEscrow.BadSignature.selector, p1));
        vm.prank(r1);
        esc.createFromOffer(cheaper, sig, 1e16, "o");
        // signed by someone else
        bytes memory wrong = _sign(P2_KEY, esc.offerDigest(o));
        vm.expectRevert(abi.encodeWithSelector(IEscrow.BadSignature.selector, p1));
        vm.prank(r1);
        esc.createFromOffer(o, wrong, 3e16, "o");
        // duration: 3e16/h rate, 1 wei short of 600 s is below minDuration; more than 30 days is above max
        vm.expectRevert(abi.encodeWithSelector(IEscrow.DurationOutOfRange.selector, 599, 600, 30 days));
        vm.prank(r1);
        esc.createFromOffer(o, sig, uint256(3e16) * 599 / 3600, "o");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.DurationOutOfRange.selector, 30 days + 1, 600, 30 days));
        vm.prank(r1);
        esc.createFromOffer(o, sig, uint256(3e16) * 24 * 30 + 1, "o");
        // zero rate
        IEscrow.Offer memory free = _offer(p1, r1, 1);
        free.ratePerHour = 0;
        vm.expectRevert(IEscrow.ZeroRate.selector);
        vm.prank(r1);
        esc.createFromOffer(free, sig, 1, "o");
        // expired
        vm.warp(o.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.OfferExpired.selector, o.deadline));
        vm.prank(r1);
        esc.createFromOffer(o, sig, 3e16, "o");
    }

    function test_offer_notOnAnotherChainOrContract() public {
        IEscrow.Offer memory o = _offer(p1, address(0), 1);
        bytes memory sig = _sign(P1_KEY, esc.offerDigest(o));
        // the same offer on a second escrow deployment
        ProviderRegistry reg2 = new ProviderRegistry();
        Escrow esc2 = new Escrow(lnq, reg2, MIN_PREPAID);
        reg2.bindEscrow(address(esc2));
        vm.prank(p1);
        reg2.register(_capacity(64_000, 262_144, 4_000), _prices(), REGION, META);
        vm.prank(r1);
        lnq.approve(address(esc2), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.BadSignature.selector, p1));
        vm.prank(r1);
        esc2.createFromOffer(o, sig, 3e16, "o");
        // the same offer after a chain split
        uint256 chain = vm.getChainId();
        vm.chainId(chain + 1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.BadSignature.selector, p1));
        vm.prank(r1);
        esc.createFromOffer(o, sig, 3e16, "o");
        vm.chainId(31337);
        vm.prank(r1);
        esc.createFromOffer(o, sig, 3e16, "o");
    }

    function test_offer_fromContractWallet() public {
        ProviderWallet wallet = new ProviderWallet(p2);
        vm.prank(p2);
        wallet.exec(
            address(reg),
            abi.encodeCall(IProviderRegistry.register, (_capacity(8000, 8192, 100), _prices(), REGION, META))
        );
        IEscrow.Offer memory o = _offer(address(wallet), address(0), 1);
        bytes memory sig = _sign(P2_KEY, esc.offerDigest(o));
        vm.prank(r1);
        esc.createFromOffer(o, sig, 3e16, "w");
        assertEq(reg.usedCapacity(address(wallet)).cpuMillis, 1000, "reserved on the wallet");
        bytes memory notOwner = _sign(P1_KEY, esc.offerDigest(_offer(address(wallet), address(0), 2)));
        vm.expectRevert(abi.encodeWithSelector(IEscrow.BadSignature.selector, address(wallet)));
        vm.prank(r1);
        esc.createFromOffer(_offer(address(wallet), address(0), 2), notOwner, 3e16, "w2");
    }

    function test_revokeOffer() public {
        IEscrow.Offer memory o = _offer(p1, address(0), 300);
        bytes memory sig = _sign(P1_KEY, esc.offerDigest(o));
        vm.expectEmit();
        emit IEscrow.OfferRevoked(p1, 300);
        vm.prank(p1);
        esc.revokeOffer(300);
        assertTrue(esc.isNonceUsed(p1, 300), "revoked");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NonceUsed.selector, p1, 300));
        vm.prank(r1);
        esc.createFromOffer(o, sig, 3e16, "o");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NonceUsed.selector, p1, 300));
        vm.prank(p1);
        esc.revokeOffer(300);
    }
}
