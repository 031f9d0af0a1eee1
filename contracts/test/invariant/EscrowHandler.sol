// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "../utils/Test.sol";
import {LNQ} from "../../src/LNQ.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {Escrow} from "../../src/Escrow.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";
import {Resources} from "../../src/interfaces/Types.sol";

/// @notice Drives the escrow as requestors, providers, third parties and the clock would, and keeps a ghost model
/// (which escrows exist, what each reserved) plus flags for properties that can only be seen during a call.
contract EscrowHandler is Test {
    LNQ public immutable lnq;
    ProviderRegistry public immutable reg;
    Escrow public immutable esc;

    uint256 public constant MAX_ESCROWS = 48;
    uint256[2] internal providerKeys = [uint256(0xA11CE), uint256(0xB0B)];
    address[2] public providers;
    address[2] public requestors = [address(0x1001), address(0x1002)];
    address public constant THIRD = address(0x1003);

    IEscrow.Terms[] internal _escrows;
    /// @dev Terms a provider's agent may still remember after their escrow moved away (changeProvider): every
    /// withdrawMany batch includes them, as a stale agent batch would.
    IEscrow.Terms[] internal _moved;
    /// @dev The top-up bound of each escrow in whole hours (the offer's maxDuration floored; 65,535 otherwise).
    mapping(bytes32 id => uint256 hours_) public capHours;
    mapping(bytes32 id => uint256 lastEarned) public lastEarned;
    uint256 public nextNonce;
    uint256 public nextSalt;

    // property flags, checked by the invariant contract
    bool public earnedDecreased;
    bool public earnedAboveDeposit;
    bool public settlementMismatch;
    bool public finalizeRevertedWhenEnded;
    bool public offerReused;
    bool public foreignOfferAccepted;
    bool public strangerStoppedOrCancelled;
    bool public withdrawManyReverted;
    bool public withdrawManyMispaid;
    bool public idReused;
    bool public topUpAboveBound;
    /// @dev The reputation each provider should have under the rules (issue 19): escrows the provider funded itself
    /// never count; `cancelled` only for cancels after the start window; `stoppedEarly` only for stops after the
    /// minimum prepaid period; `totalEarned` what stops and finalizes paid.
    mapping(address provider => uint256 n) public expCompleted;
    mapping(address provider => uint256 n) public expStopped;
    mapping(address provider => uint256 n) public expCancelled;
    mapping(address provider => uint256 wei_) public expEarned;

    // call counters, and successful transitions (coverage: the properties are only as good as the paths taken)
    mapping(bytes32 => uint256) public calls;
    mapping(bytes32 => uint256) public succeeded;

    constructor(LNQ lnq_, ProviderRegistry reg_, Escrow esc_) {
        lnq = lnq_;
        reg = reg_;
        esc = esc_;
        providers[0] = vm.addr(providerKeys[0]);
        providers[1] = vm.addr(providerKeys[1]);
    }

    // ------------------------------------------------------------------ views for the invariants

    function escrowCount() external view returns (uint256) {
        return _escrows.length;
    }

    function escrowAt(uint256 i) external view returns (IEscrow.Terms memory) {
        return _escrows[i];
    }

    function isOpen(IEscrow.Terms memory t) public view returns (bool) {
        (,,, uint8 status) = esc.record(esc.escrowId(t));
        return status == uint8(IEscrow.Status.Created) || status == uint8(IEscrow.Status.Active);
    }

    // ------------------------------------------------------------------ requestor actions

    function create(uint256 who, uint256 prov, uint256 size, uint256 deposit) external {
        if (_escrows.length >= MAX_ESCROWS) return;
        calls["create"]++;
        address provider = providers[prov % 2];
        // a third of the registry escrows are self-dealt: the provider funds its own escrow
        address requestor = who % 3 == 2 ? provider : requestors[who % 2];
        Resources memory r = _resources(size);
        uint128 rate = reg.quote(provider, r);
        uint256 minDeposit = (uint256(rate) * esc.minPrepaidSeconds() + 3599) / 3600;
        deposit = bound(deposit, minDeposit, minDeposit * 200);
        bytes32 salt = bytes32(++nextSalt);
        vm.prank(requestor);
        try esc.create(provider, r, deposit, rate, salt) {
            succeeded["create"]++;
            _track(IEscrow.Terms(requestor, provider, r, rate, salt), 65_535);
        } catch {
            // only capacity may refuse it here
        }
    }

    function createFromOffer(uint256 who, uint256 prov, uint256 deposit, bool bind) external {
        if (_escrows.length >= MAX_ESCROWS) return;
        calls["createFromOffer"]++;
        address requestor = requestors[who % 2];
        uint256 key = providerKeys[prov % 2];
        Resources memory r = _resources(deposit);
        IEscrow.Offer memory o = IEscrow.Offer({
            provider: vm.addr(key),
            requestor: bind ? requestor : address(0),
            resources: r,
            ratePerHour: uint128(bound(deposit >> 128, 1e12, 1e18)),
            minDuration: 600,
            maxDuration: uint64(bound(deposit >> 160, 1 hours, 60 days)),
            nonce: nextNonce++,
            deadline: uint64(vm.getBlockTimestamp() + 1 hours)
        });
        deposit =
            bound(deposit, (uint256(o.ratePerHour) * 600 + 3599) / 3600, uint256(o.ratePerHour) * o.maxDuration / 3600);
        (uint8 v, bytes32 rs, bytes32 s) = vm.sign(key, esc.offerDigest(o));
        bytes memory sig = abi.encodePacked(rs, s, v);
        bytes32 salt = bytes32(++nextSalt);
        vm.prank(requestor);
        try esc.createFromOffer(o, sig, deposit, salt) {
            succeeded["offer"]++;
            _track(IEscrow.Terms(requestor, o.provider, r, o.ratePerHour, salt), o.maxDuration / 3600);
            // the same offer again, even by another requestor and salt, must fail
            vm.prank(requestors[(who % 2 + 1) % 2]);
            try esc.createFromOffer(o, sig, deposit, bytes32(++nextSalt)) {
                offerReused = true;
            } catch {}
        } catch {}
        // an offer signed for another escrow contract (same chain) must never be accepted here
        bytes32 foreign = keccak256(
            abi.encodePacked(
                "\x19\x01",
                keccak256(
                    abi.encode(
                        keccak256(
                            "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                        ),
                        keccak256("LinqEscrow"),
                        keccak256("1"),
                        block.chainid,
                        address(0xdead)
                    )
                ),
                _structHash(o)
            )
        );
        o.nonce = nextNonce++;
        (v, rs, s) = vm.sign(key, foreign);
        vm.prank(requestor);
        try esc.createFromOffer(o, abi.encodePacked(rs, s, v), deposit, bytes32(++nextSalt)) {
            foreignOfferAccepted = true;
        } catch {}
    }

    function topUp(uint256 i, uint256 payer, uint256 amount) external {
        if (_escrows.length == 0) return;
        calls["topUp"]++;
        IEscrow.Terms memory t = _escrows[i % _escrows.length];
        address from = payer % 3 == 2 ? THIRD : requestors[payer % 2];
        amount = bound(amount, 1, 1_000 ether);
        vm.prank(from);
        try esc.topUp(t, amount) {
            succeeded["topUp"]++;
            (uint96 deposited,,,) = esc.record(esc.escrowId(t));
            if (deposited > capHours[esc.escrowId(t)] * t.ratePerHour) topUpAboveBound = true;
        } catch {}
    }

    function changeProvider(uint256 i) external {
        if (_escrows.length == 0) return;
        calls["changeProvider"]++;
        uint256 idx = _pick(i, IEscrow.Status.Created);
        IEscrow.Terms memory t = _escrows[idx];
        address other = t.provider == providers[0] ? providers[1] : providers[0];
        vm.prank(t.requestor);
        try esc.changeProvider(t, other, type(uint128).max) {
            succeeded["changeProvider"]++;
            IEscrow.Terms memory moved =
                IEscrow.Terms(t.requestor, other, t.resources, reg.quote(other, t.resources), t.salt);
            _escrows[idx] = moved;
            capHours[esc.escrowId(moved)] = 65_535;
            _moved.push(t);
            // the old id must never be created again: the same terms at the same rate (when the old provider's
            // registry price still gives that rate) are refused
            if (reg.quote(t.provider, t.resources) == t.ratePerHour) {
                vm.prank(t.requestor);
                try esc.create(t.provider, t.resources, 1_000 ether, t.ratePerHour, t.salt) {
                    idReused = true;
                    _track(t, 65_535);
                } catch {}
            }
        } catch {}
    }

    function cancel(uint256 i, uint256 caller) external {
        if (_escrows.length == 0) return;
        calls["cancel"]++;
        IEscrow.Terms memory t = _escrows[_pick(i, IEscrow.Status.Created)];
        address who = _caller(t, caller);
        (uint96 deposited,,,) = esc.record(esc.escrowId(t));
        uint256 deadline = esc.startDeadline(t);
        uint256 before = lnq.balanceOf(t.requestor);
        vm.prank(who);
        try esc.cancel(t) {
            succeeded["cancel"]++;
            if (who != t.requestor) {
                if (vm.getBlockTimestamp() < deadline) strangerStoppedOrCancelled = true;
                succeeded["staleCancel"]++;
            }
            if (lnq.balanceOf(t.requestor) - before != deposited) settlementMismatch = true;
            if (vm.getBlockTimestamp() >= deadline && t.requestor != t.provider) expCancelled[t.provider]++;
        } catch {}
    }

    function stop(uint256 i, uint256 caller) external {
        if (_escrows.length == 0) return;
        calls["stop"]++;
        IEscrow.Terms memory t = _escrows[_pick(i, IEscrow.Status.Active)];
        address who = _caller(t, caller);
        (uint96 deposited, uint96 withdrawnBefore,,) = esc.record(esc.escrowId(t));
        uint256 reqBefore = lnq.balanceOf(t.requestor);
        uint256 provBefore = lnq.balanceOf(t.provider);
        vm.prank(who);
        try esc.stop(t) {
            succeeded["stop"]++;
            if (who != t.requestor) strangerStoppedOrCancelled = true;
            if (t.requestor == t.provider) {
                // self-dealt: everything still in the escrow comes back to the one address, and nothing counts
                if (lnq.balanceOf(t.provider) - provBefore != deposited - withdrawnBefore) settlementMismatch = true;
                return;
            }
            uint256 providerTotal = withdrawnBefore + lnq.balanceOf(t.provider) - provBefore;
            uint256 refund = lnq.balanceOf(t.requestor) - reqBefore;
            if (providerTotal + refund != deposited) settlementMismatch = true;
            expEarned[t.provider] += providerTotal;
            if (providerTotal * 3600 >= uint256(t.ratePerHour) * esc.minPrepaidSeconds()) expStopped[t.provider]++;
        } catch {}
    }

    // ------------------------------------------------------------------ provider actions

    function start(uint256 i) external {
        if (_escrows.length == 0) return;
        calls["start"]++;
        IEscrow.Terms memory t = _escrows[_pick(i, IEscrow.Status.Created)];
        vm.prank(t.provider);
        try esc.start(t) { succeeded["start"]++; } catch {}
    }

    function decline(uint256 i, uint256 caller) external {
        if (_escrows.length == 0) return;
        calls["decline"]++;
        IEscrow.Terms memory t = _escrows[_pick(i, IEscrow.Status.Created)];
        address who = caller % 4 == 0 ? t.requestor : t.provider;
        (uint96 deposited,,,) = esc.record(esc.escrowId(t));
        uint256 before = lnq.balanceOf(t.requestor);
        vm.prank(who);
        try esc.decline(t) {
            succeeded["decline"]++;
            if (who != t.provider) strangerStoppedOrCancelled = true;
            if (lnq.balanceOf(t.requestor) - before != deposited) settlementMismatch = true;
        } catch {}
    }

    function withdraw(uint256 i, uint256 caller) external {
        if (_escrows.length == 0) return;
        calls["withdraw"]++;
        IEscrow.Terms memory t = _escrows[_pick(i, IEscrow.Status.Active)];
        vm.prank(_caller(t, caller));
        try esc.withdraw(t) { succeeded["withdraw"]++; } catch {}
    }

    function withdrawMany(uint256 prov) external {
        calls["withdrawMany"]++;
        address provider = providers[prov % 2];
        uint256 n;
        for (uint256 i = 0; i < _escrows.length; ++i) {
            if (_escrows[i].provider == provider) n++;
        }
        for (uint256 i = 0; i < _moved.length; ++i) {
            if (_moved[i].provider == provider) n++;
        }
        if (n == 0) return;
        IEscrow.Terms[] memory ts = new IEscrow.Terms[](n);
        n = 0;
        uint256 due;
        for (uint256 i = 0; i < _escrows.length; ++i) {
            if (_escrows[i].provider != provider) continue;
            ts[n++] = _escrows[i];
            due += esc.getEscrow(_escrows[i]).withdrawable;
        }
        for (uint256 i = 0; i < _moved.length; ++i) {
            if (_moved[i].provider == provider) ts[n++] = _moved[i];
        }
        uint256 before = lnq.balanceOf(provider);
        vm.prank(provider);
        try esc.withdrawMany(ts) returns (uint256 total) {
            succeeded["withdrawMany"]++;
            if (total != due || lnq.balanceOf(provider) - before != due) withdrawManyMispaid = true;
        } catch {
            // one provider's terms, never empty: a batch must pay what is due whatever the others did
            withdrawManyReverted = true;
        }
    }

    // ------------------------------------------------------------------ anyone

    function finalize(uint256 i, uint256 caller) external {
        if (_escrows.length == 0) return;
        calls["finalize"]++;
        IEscrow.Terms memory t = _escrows[_pick(i, IEscrow.Status.Ended)];
        bool ended = esc.statusOf(t) == IEscrow.Status.Ended;
        (uint96 deposited, uint96 withdrawnBefore,,) = esc.record(esc.escrowId(t));
        uint256 reqBefore = lnq.balanceOf(t.requestor);
        uint256 provBefore = lnq.balanceOf(t.provider);
        vm.prank(_caller(t, caller));
        try esc.finalize(t) {
            succeeded["finalize"]++;
            uint256 providerTotal = withdrawnBefore + lnq.balanceOf(t.provider) - provBefore;
            if (t.requestor == t.provider) {
                if (providerTotal != deposited) settlementMismatch = true;
                return;
            }
            uint256 refund = lnq.balanceOf(t.requestor) - reqBefore;
            if (providerTotal + refund != deposited) settlementMismatch = true;
            expCompleted[t.provider]++;
            expEarned[t.provider] += providerTotal;
        } catch {
            if (ended) finalizeRevertedWhenEnded = true;
        }
    }

    function warp(uint256 seconds_) external {
        calls["warp"]++;
        vm.warp(vm.getBlockTimestamp() + bound(seconds_, 1, 12 hours));
        _checkEarned();
    }

    // ------------------------------------------------------------------ internals

    function _track(IEscrow.Terms memory t, uint256 hours_) internal {
        _escrows.push(t);
        capHours[esc.escrowId(t)] = hours_ > 65_535 ? 65_535 : hours_;
    }

    /// @dev After time passes: earned never decreases and never exceeds the deposit.
    function _checkEarned() internal {
        for (uint256 i = 0; i < _escrows.length; ++i) {
            IEscrow.Terms memory t = _escrows[i];
            bytes32 id = esc.escrowId(t);
            (uint96 deposited, uint96 withdrawn,,) = esc.record(id);
            uint256 e = esc.earned(t);
            if (e > deposited || withdrawn > e) earnedAboveDeposit = true;
            if (e < lastEarned[id]) earnedDecreased = true;
            lastEarned[id] = e;
        }
    }

    /// @dev Index of the first escrow at or after `seed` (cyclically) in status `want`, else `seed` itself, so the
    /// handler spends its calls on transitions that can happen while still trying the others.
    function _pick(uint256 seed, IEscrow.Status want) internal view returns (uint256) {
        uint256 n = _escrows.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 idx = (seed % n + k) % n;
            if (esc.statusOf(_escrows[idx]) == want) return idx;
        }
        return seed % n;
    }

    /// @dev The requestor half of the time, else the provider, a third party or the other requestor.
    function _caller(IEscrow.Terms memory t, uint256 seed) internal view returns (address) {
        uint256 k = seed % 6;
        if (k < 3) return t.requestor;
        if (k == 3) return t.provider;
        if (k == 4) return THIRD;
        return t.requestor == requestors[0] ? requestors[1] : requestors[0];
    }

    function _resources(uint256 seed) internal pure returns (Resources memory) {
        return Resources({
            cpuMillis: uint32(bound(seed, 1, 16_000)),
            memoryMiB: uint32(bound(seed >> 32, 0, 65_536)),
            storageGiB: uint32(bound(seed >> 64, 0, 500)),
            gpuClass: 1,
            gpuCount: uint16(bound(seed >> 96, 0, 2))
        });
    }

    function _structHash(IEscrow.Offer memory o) internal pure returns (bytes32) {
        bytes32 resourcesTypehash =
            keccak256("Resources(uint32 cpuMillis,uint32 memoryMiB,uint32 storageGiB,uint16 gpuClass,uint16 gpuCount)");
        bytes32 offerTypehash = keccak256(
            "Offer(address provider,address requestor,Resources resources,uint128 ratePerHour,uint64 minDuration,"
            "uint64 maxDuration,uint256 nonce,uint64 deadline)"
            "Resources(uint32 cpuMillis,uint32 memoryMiB,uint32 storageGiB,uint16 gpuClass,uint16 gpuCount)"
        );
        Resources memory r = o.resources;
        return keccak256(
            abi.encode(
                offerTypehash,
                o.provider,
                o.requestor,
                keccak256(abi.encode(resourcesTypehash, r.cpuMillis, r.memoryMiB, r.storageGiB, r.gpuClass, r.gpuCount)),
                o.ratePerHour,
                o.minDuration,
                o.maxDuration,
                o.nonce,
                o.deadline
            )
        );
    }

    // silence unused import
    function _unused(IProviderRegistry) internal pure {}
}
