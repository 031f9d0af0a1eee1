// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Fixture} from "./utils/Fixture.sol";
import {ProviderWallet, ReentrantToken} from "./utils/Wallets.sol";
import {Escrow} from "../src/Escrow.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {IEscrow} from "../src/interfaces/IEscrow.sol";
import {IProviderRegistry} from "../src/interfaces/IProviderRegistry.sol";
import {Resources} from "../src/interfaces/Types.sol";

contract EscrowTest is Fixture {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    uint256 internal constant R3_KEY = 0xC3;

    // ------------------------------------------------------------------ helpers

    function _offer(address provider, address requestor, uint256 nonce) internal view returns (IEscrow.Offer memory) {
        return IEscrow.Offer({
            provider: provider,
            requestor: requestor,
            resources: _res(),
            ratePerHour: 3e16,
            minDuration: 600,
            maxDuration: 30 days,
            nonce: nonce,
            deadline: uint64(_now() + 1 hours)
        });
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _permit(uint256 key, uint256 value) internal view returns (IEscrow.PermitSig memory p) {
        address owner = vm.addr(key);
        uint256 deadline = _now() + 1 hours;
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, owner, address(esc), value, lnq.nonces(owner), deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", lnq.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        p = IEscrow.PermitSig(value, deadline, v, r, s);
    }

    function _status(IEscrow.Terms memory t) internal view returns (uint256) {
        return uint256(esc.statusOf(t));
    }

    // ------------------------------------------------------------------ create

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
        assertEq(wd + st, 0, "nothing withdrawn, not started");
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

    // ------------------------------------------------------------------ offers

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

    // ------------------------------------------------------------------ lifecycle

    function test_start() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NotProvider.selector, r1, p1));
        vm.prank(r1);
        esc.start(t);
        vm.expectEmit();
        emit IEscrow.Started(id, uint40(_now()), uint40(_now() + 24 hours));
        vm.prank(p1);
        esc.start(t);
        assertEq(_status(t), uint256(IEscrow.Status.Active), "Active");
        assertEq(esc.endOf(t), _now() + 24 hours, "end");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Active));
        vm.prank(p1);
        esc.start(t);
        IEscrow.Terms memory unknown = _terms(r1, p1, _res(), "none");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.UnknownEscrow.selector, esc.escrowId(unknown)));
        vm.prank(p1);
        esc.start(unknown);
    }

    function test_accrual_perSecond() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "s");
        uint256 t0 = _now();
        assertEq(esc.earned(t), 0, "nothing at start");
        vm.warp(t0 + 1);
        assertEq(esc.earned(t), uint256(t.ratePerHour) / 3600, "one second, floored");
        vm.warp(t0 + 3600);
        assertEq(esc.earned(t), t.ratePerHour, "one hour");
        vm.warp(t0 + 24 hours - 1);
        assertLt(esc.earned(t), _day(), "just before the end");
        assertEq(_status(t), uint256(IEscrow.Status.Active), "active before end");
        vm.warp(t0 + 24 hours);
        assertEq(esc.earned(t), _day(), "all at the end");
        assertEq(_status(t), uint256(IEscrow.Status.Ended), "Ended is derived");
        vm.warp(t0 + 100 days);
        assertEq(esc.earned(t), _day(), "capped");
    }

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
    }

    function test_withdraw_partialToProviderByAnyone() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NothingToWithdraw.selector, id));
        esc.withdraw(t);
        vm.warp(_now() + 1 hours);
        vm.expectEmit();
        emit IEscrow.Withdrawn(id, p1, t.ratePerHour);
        vm.prank(anyone);
        uint256 got = esc.withdraw(t);
        assertEq(got, t.ratePerHour, "one hour");
        assertEq(lnq.balanceOf(p1), t.ratePerHour, "paid to the provider, not the caller");
        vm.warp(_now() + 1 hours + 17);
        uint256 second = esc.withdraw(t);
        assertEq(got + second, esc.earned(t), "cumulative: no rounding leak");
        IEscrow.EscrowView memory v = esc.getEscrow(t);
        assertEq(v.withdrawn, got + second, "withdrawn");
        assertEq(v.withdrawable, 0, "nothing more now");
        assertEq(v.remaining, _day() - v.earned, "remaining");
    }

    function test_withdraw_notActive() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NothingToWithdraw.selector, id));
        esc.withdraw(t);
        IEscrow.Terms memory unknown = _terms(r1, p1, _res(), "none");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.UnknownEscrow.selector, esc.escrowId(unknown)));
        esc.withdraw(unknown);
    }

    function test_withdrawMany() public {
        IEscrow.Terms[] memory ts = new IEscrow.Terms[](3);
        ts[0] = _createStarted(r1, p1, _day(), "a");
        ts[1] = _createStarted(r2, p1, _day(), "b");
        ts[2] = _create(r1, p1, _day(), "c"); // not started: skipped
        vm.warp(_now() + 2 hours);
        uint256 total = esc.withdrawMany(ts);
        assertEq(total, 4 * uint256(ts[0].ratePerHour), "two escrows, two hours");
        assertEq(lnq.balanceOf(p1), total, "one transfer to the provider");
        assertEq(esc.withdrawMany(ts), 0, "nothing left: no transfer, no revert");
        IEscrow.Terms[] memory mixed = new IEscrow.Terms[](2);
        mixed[0] = ts[0];
        mixed[1] = _create(r1, p2, _day(), "d");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.ProviderMismatch.selector, p1, p2));
        esc.withdrawMany(mixed);
        vm.expectRevert(IEscrow.EmptyBatch.selector);
        esc.withdrawMany(new IEscrow.Terms[](0));
    }

    function test_cancel() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        uint256 before = lnq.balanceOf(r1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NotRequestor.selector, p1, r1));
        vm.prank(p1);
        esc.cancel(t);
        vm.expectEmit();
        emit IEscrow.Cancelled(id, _day());
        vm.prank(r1);
        esc.cancel(t);
        assertEq(lnq.balanceOf(r1) - before, _day(), "full refund");
        assertEq(reg.usedCapacity(p1).cpuMillis, 0, "released");
        assertEq(reg.getProvider(p1).reputation.cancelled, 1, "counted");
        IEscrow.EscrowView memory v = esc.getEscrow(t);
        assertEq(uint256(v.status), uint256(IEscrow.Status.Cancelled), "Cancelled");
        assertEq(v.deposited, _day(), "deposit kept in the record");
        assertEq(v.withdrawn + v.earned, 0, "provider got nothing");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Cancelled));
        vm.prank(r1);
        esc.cancel(t);
    }

    function test_cancel_onlyWhileCreated() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "s");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, esc.escrowId(t), IEscrow.Status.Active));
        vm.prank(r1);
        esc.cancel(t);
    }

    function test_stop_settlesInSameTx() public {
        IEscrow.Terms memory t = _createStarted(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.warp(_now() + 1 hours);
        esc.withdraw(t);
        vm.warp(_now() + 30 minutes + 7);
        uint256 e = esc.earned(t);
        uint256 toProvider = e - t.ratePerHour;
        uint256 refund = _day() - e;
        uint256 r1Before = lnq.balanceOf(r1);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.NotRequestor.selector, anyone, r1));
        vm.prank(anyone);
        esc.stop(t);
        vm.expectEmit();
        emit IEscrow.Stopped(id, uint40(_now()), toProvider, refund);
        vm.prank(r1);
        esc.stop(t);
        assertEq(lnq.balanceOf(p1), e, "provider total = earned");
        assertEq(lnq.balanceOf(r1) - r1Before, refund, "refund");
        assertEq(lnq.balanceOf(p1) + lnq.balanceOf(r1) - r1Before, _day(), "settles to the wei");
        assertEq(lnq.balanceOf(address(esc)), 0, "nothing parked");
        IEscrow.EscrowView memory v = esc.getEscrow(t);
        assertEq(uint256(v.status), uint256(IEscrow.Status.Stopped), "Stopped");
        assertEq(v.withdrawn, e, "withdrawn = total paid");
        assertEq(v.earned, e, "earned view");
        assertEq(v.remaining, refund, "remaining = refund");
        assertEq(reg.getProvider(p1).reputation.stoppedEarly, 1, "counted");
        assertEq(reg.getProvider(p1).reputation.totalEarned, e, "earned counted");
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Stopped));
        vm.prank(r1);
        esc.stop(t);
    }

    function test_stop_reverts() public {
        IEscrow.Terms memory t = _create(r1, p1, _day(), "s");
        bytes32 id = esc.escrowId(t);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.WrongStatus.selector, id, IEscrow.Status.Created));
        vm.prank(r1);
        esc.stop(t);
        vm.prank(p1);
        esc.start(t);
        vm.warp(_now() + 24 hours);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.AlreadyEnded.selector, id, uint40(_now())));
        vm.prank(r1);
        esc.stop(t);
    }

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
    }

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
        vm.expectRevert(IEscrow.Reentrancy.selector);
        vm.prank(r1);
        esc2.create(p1, _res(), 1 ether, type(uint128).max, "x");
    }

    // ------------------------------------------------------------------ fuzz

    /// earned follows the formula exactly, never exceeds the deposit and never decreases with time.
    function testFuzz_earned_exactAndMonotone(uint96 deposit, uint64 rate, uint32 dt1, uint32 dt2) public {
        rate = uint64(bound(rate, 1, type(uint64).max));
        uint256 minDeposit = (uint256(rate) * MIN_PREPAID + 3599) / 3600;
        uint256 dep = bound(deposit, minDeposit < 1 ? 1 : minDeposit, 1_000_000 ether);
        vm.prank(p1);
        reg.updateBaseRanges(IProviderRegistry.BaseRanges(rate, 0, 0));
        Resources memory r = Resources(1, 0, 0, 0, 0);
        vm.prank(r1);
        esc.create(p1, r, dep, rate, "f");
        IEscrow.Terms memory t = IEscrow.Terms(r1, p1, r, rate, "f");
        vm.prank(p1);
        esc.start(t);
        uint256 t0 = _now();
        uint256 end = t0 + (dep * 3600 + rate - 1) / rate;
        assertEq(esc.endOf(t), end > type(uint40).max ? type(uint40).max : end, "end formula");
        vm.warp(t0 + dt1);
        uint256 e1 = esc.earned(t);
        uint256 expect = uint256(rate) * dt1 / 3600;
        assertEq(e1, expect < dep ? expect : dep, "earned formula");
        vm.warp(t0 + uint256(dt1) + dt2);
        uint256 e2 = esc.earned(t);
        assertGe(e2, e1, "monotone");
        assertLe(e2, dep, "capped by deposit");
        assertEq(e2 == dep, _now() >= end, "ended exactly when earned == deposited");
    }

    /// stop at any time: provider total + refund == deposited, to the wei, whatever was withdrawn before.
    function testFuzz_stop_settlesToTheWei(uint96 deposit, uint32 atWithdraw, uint32 atStop) public {
        uint256 dep = bound(deposit, _rate(_res()), 100_000 ether);
        IEscrow.Terms memory t = _createStarted(r1, p1, dep, "f");
        uint256 end = esc.endOf(t);
        uint256 t0 = _now();
        uint256 w = bound(atWithdraw, 0, end - t0 - 1);
        uint256 s = bound(atStop, w, end - t0 - 1);
        vm.warp(t0 + w);
        if (esc.getEscrow(t).withdrawable > 0) esc.withdraw(t);
        vm.warp(t0 + s);
        uint256 r1Before = lnq.balanceOf(r1);
        vm.prank(r1);
        esc.stop(t);
        uint256 refund = lnq.balanceOf(r1) - r1Before;
        assertEq(lnq.balanceOf(p1) + refund, dep, "provider + requestor == deposited");
        assertEq(lnq.balanceOf(p1), uint256(t.ratePerHour) * s / 3600, "provider got exactly earned(stop)");
        assertEq(lnq.balanceOf(address(esc)), 0, "escrow empty");
    }

    /// top-up moves the end to start + ceil(deposited * 3600 / rate), exactly.
    function testFuzz_topUp_extendsEnd(uint96 first, uint96 more, uint32 after_) public {
        uint256 dep = bound(first, _day() / 24, 10_000 ether);
        uint256 add = bound(more, 1, 10_000 ether);
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
