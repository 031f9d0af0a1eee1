// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IEscrow} from "./interfaces/IEscrow.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {Resources} from "./interfaces/Types.sol";

/// @title Escrow
/// @notice Holds every LNQ escrow of the marketplace. An escrow is identified by the hash of its terms and keeps
/// one storage slot; callers pass the terms as calldata. Fully prefunded, accrued per second from `start`:
/// earned(t) = min(deposited, ratePerHour * (t - start) / 3600) (floored, in favour of the requestor),
/// end = start + ceilDiv(deposited * 3600, ratePerHour). There is no owner and no admin path to the funds.
/// @dev Invariant: LNQ.balanceOf(this) == Σ over open escrows (deposited - withdrawn). Checks-effects-interactions
/// plus OpenZeppelin's transient reentrancy guard (ReentrancyGuardReentrantCall); the only external calls are to the
/// immutable LNQ and ProviderRegistry.
contract Escrow is IEscrow, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev The unpacked slot of an escrow. Stored as one word: deposited (bits 0-95) | withdrawn (96-191) |
    /// start (192-231; the creation time while Created) | status (232-239) | top-up bound in whole hours
    /// (240-255). A non-zero word with status 0 is the tombstone of a moved escrow: its id is never reused.
    struct Record {
        uint96 deposited;
        uint96 withdrawn;
        uint40 start;
        uint8 status;
    }

    uint8 internal constant CREATED = uint8(Status.Created);
    uint8 internal constant ACTIVE = uint8(Status.Active);
    uint8 internal constant CANCELLED = uint8(Status.Cancelled);
    uint8 internal constant STOPPED = uint8(Status.Stopped);
    uint8 internal constant COMPLETED = uint8(Status.Completed);

    uint8 internal constant OUTCOME_MOVED = 0;
    uint8 internal constant OUTCOME_COMPLETED = 1;
    uint8 internal constant OUTCOME_STOPPED = 2;
    uint8 internal constant OUTCOME_CANCELLED = 3;
    uint8 internal constant OUTCOME_PAID_ONLY = 4;

    bytes32 internal constant RESOURCES_TYPEHASH =
        keccak256("Resources(uint32 cpuMillis,uint32 memoryMiB,uint32 storageGiB,uint16 gpuClass,uint16 gpuCount)");
    bytes32 internal constant OFFER_TYPEHASH = keccak256(
        "Offer(address provider,address requestor,Resources resources,uint128 ratePerHour,uint64 minDuration,"
        "uint64 maxDuration,uint256 nonce,uint64 deadline)"
        "Resources(uint32 cpuMillis,uint32 memoryMiB,uint32 storageGiB,uint16 gpuClass,uint16 gpuCount)"
    );

    IERC20 internal immutable TOKEN;
    IProviderRegistry internal immutable REGISTRY;
    uint64 internal immutable MIN_PREPAID_SECONDS;

    uint256 internal constant MAX_AMOUNT = type(uint96).max;
    uint256 internal constant WITHDRAWN_SHIFT = 96;
    uint256 internal constant START_SHIFT = 192;
    uint256 internal constant STATUS_SHIFT = 232;
    uint256 internal constant CAP_SHIFT = 240;
    uint256 internal constant CAP_MASK = uint256(type(uint16).max) << CAP_SHIFT;
    /// @dev The top-up bound of registry-price escrows, whole hours (about 7.5 years): the protocol's, documented.
    uint256 internal constant REGISTRY_CAP_HOURS = type(uint16).max;
    /// @dev The tombstone a moved escrow leaves: status None, non-zero, so the id is never created again.
    uint256 internal constant TOMBSTONE = 1 << CAP_SHIFT;

    /// @notice How long a provider has to start (or decline) a created escrow before anyone may cancel it.
    uint256 public constant START_WINDOW = 1 days;

    mapping(bytes32 id => uint256 word) internal _records;
    mapping(address provider => mapping(uint256 word => uint256 bits)) internal _nonceBitmap;

    /// @param token_ the LNQ token
    /// @param registry_ the ProviderRegistry this escrow is bound to
    /// @param minPrepaidSeconds_ every deposit must pay for at least this long at the escrow's rate
    constructor(IERC20 token_, IProviderRegistry registry_, uint64 minPrepaidSeconds_) EIP712("LinqEscrow", "1") {
        TOKEN = token_;
        REGISTRY = registry_;
        MIN_PREPAID_SECONDS = minPrepaidSeconds_;
    }

    // ------------------------------------------------------------------ creation

    /// @notice Creates and funds an escrow at `provider`'s current registry prices (approve first).
    /// @param maxRatePerHour reverts RateAboveMax if the registry rate is higher (price front-running guard)
    /// @param salt distinguishes escrows with otherwise equal terms
    function create(address provider, Resources calldata r, uint256 deposit, uint128 maxRatePerHour, bytes32 salt)
        external
        nonReentrant
        returns (bytes32 id)
    {
        id = _createAtRegistryPrice(provider, r, deposit, maxRatePerHour, salt);
    }

    /// @notice create with an EIP-2612 permit instead of a prior approve; a failed (e.g. front-run) permit is
    /// ignored and the transfer then relies on the allowance.
    function createWithPermit(
        address provider,
        Resources calldata r,
        uint256 deposit,
        uint128 maxRatePerHour,
        bytes32 salt,
        PermitSig calldata p
    ) external nonReentrant returns (bytes32 id) {
        _permit(p);
        id = _createAtRegistryPrice(provider, r, deposit, maxRatePerHour, salt);
    }

    /// @notice Creates and funds an escrow from a provider's EIP-712 signed offer (approve first).
    function createFromOffer(Offer calldata o, bytes calldata signature, uint256 deposit, bytes32 salt)
        external
        nonReentrant
        returns (bytes32 id)
    {
        id = _createFromOffer(o, signature, deposit, salt);
    }

    /// @notice createFromOffer with an EIP-2612 permit (ignored if it fails).
    function createFromOfferWithPermit(
        Offer calldata o,
        bytes calldata signature,
        uint256 deposit,
        bytes32 salt,
        PermitSig calldata p
    ) external nonReentrant returns (bytes32 id) {
        _permit(p);
        id = _createFromOffer(o, signature, deposit, salt);
    }

    // ------------------------------------------------------------------ lifecycle

    /// @notice Adds `amount` to the deposit (anyone may pay); extends the end. Created, or Active and not ended.
    function topUp(Terms calldata t, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (amount > MAX_AMOUNT) revert AmountTooLarge(amount);
        bytes32 id = _id(t);
        uint256 word = _records[id];
        uint256 status = uint8(word >> STATUS_SHIFT);
        uint256 before = word & MAX_AMOUNT;
        uint256 deposited = before + amount;
        if (deposited > MAX_AMOUNT) revert AmountTooLarge(deposited);
        if (status == ACTIVE) {
            uint256 startTime = uint40(word >> START_SHIFT);
            if (uint256(t.ratePerHour) * (block.timestamp - startTime) >= before * 3600) {
                revert AlreadyEnded(id, _u40(_end(startTime, before, t.ratePerHour)));
            }
        } else if (status != CREATED) {
            _revertStatus(id, _unpack(word), t.ratePerHour);
        }
        // The whole deposit buys at most `cap` hours (the offer's maxDuration, floored to hours):
        // ceilDiv(deposited * 3600, rate) <= cap * 3600  <=>  deposited <= cap * rate.
        uint256 capRate;
        unchecked {
            capRate = (word >> CAP_SHIFT) * t.ratePerHour; // < 2^16 * 2^128: no overflow
        }
        if (deposited > capRate) {
            revert DurationOutOfRange(_ceilDiv(deposited * 3600, t.ratePerHour), 0, uint64((word >> CAP_SHIFT) * 3600));
        }
        // deposited fits in 96 bits (checked above), so adding to the word cannot carry into `withdrawn`.
        _records[id] = word + amount;
        // The new end is not in the event (endOf(t) or start + ceilDiv(deposited * 3600, rate)): a log word and
        // a division fewer keep topUp under 50k gas.
        emit ToppedUp(id, msg.sender, amount, deposited);
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Moves a not-yet-started escrow to another provider at that provider's registry prices; requestor
    /// only. The old id is deleted and the escrow continues under the returned id.
    function changeProvider(Terms calldata t, address newProvider, uint128 maxRatePerHour)
        external
        nonReentrant
        returns (bytes32 newId)
    {
        bytes32 oldId = _id(t);
        Record memory rec = _load(oldId);
        if (rec.status != CREATED) _revertStatus(oldId, rec, t.ratePerHour);
        if (msg.sender != t.requestor) revert NotRequestor(msg.sender, t.requestor);
        if (newProvider == t.provider) revert SameProvider(newProvider);
        _records[oldId] = TOMBSTONE;
        REGISTRY.release(t.provider, t.resources, OUTCOME_MOVED, 0);
        uint128 rate = REGISTRY.reserve(newProvider, t.resources);
        if (rate > maxRatePerHour) revert RateAboveMax(rate, maxRatePerHour);
        _checkPrepaid(rec.deposited, rate);
        Terms memory moved = Terms(t.requestor, newProvider, t.resources, rate, t.salt);
        newId = keccak256(abi.encode(moved));
        if (_records[newId] != 0) revert EscrowExists(newId);
        _records[newId] = _pack(rec.deposited, 0, block.timestamp, CREATED) | (REGISTRY_CAP_HOURS << CAP_SHIFT);
        emit ProviderChanged(oldId, newId, newProvider, moved);
    }

    /// @notice The provider starts the escrow when the workload runs; accrual begins now. Allowed while Created,
    /// also after the start window (until someone cancels it).
    function start(Terms calldata t) external nonReentrant {
        bytes32 id = _id(t);
        uint256 word = _records[id];
        Record memory rec = _unpack(word);
        if (rec.status != CREATED) _revertStatus(id, rec, t.ratePerHour);
        if (msg.sender != t.provider) revert NotProvider(msg.sender, t.provider);
        _records[id] = (word & CAP_MASK) | _pack(rec.deposited, 0, block.timestamp, ACTIVE);
        emit Started(id, uint40(block.timestamp), _u40(_end(block.timestamp, rec.deposited, t.ratePerHour)));
    }

    /// @notice Pays the provider what it has earned and not yet withdrawn; anyone may call, funds go to the provider.
    function withdraw(Terms calldata t) external nonReentrant returns (uint256 amount) {
        bytes32 id = _id(t);
        amount = _takeEarned(id, t);
        if (amount == 0) {
            if (uint8(_records[id] >> STATUS_SHIFT) == 0) revert UnknownEscrow(id);
            revert NothingToWithdraw(id);
        }
        TOKEN.safeTransfer(t.provider, amount);
    }

    /// @notice withdraw for several escrows of one provider in one transfer. Every id that is not payable now is
    /// skipped: no record (never created, or moved by changeProvider), not Active, or nothing withdrawable. Reverts
    /// only on an empty batch or terms of more than one provider.
    function withdrawMany(Terms[] calldata ts) external nonReentrant returns (uint256 total) {
        if (ts.length == 0) revert EmptyBatch();
        address provider = ts[0].provider;
        for (uint256 i = 0; i < ts.length; ++i) {
            if (ts[i].provider != provider) revert ProviderMismatch(provider, ts[i].provider);
            total += _takeEarned(_id(ts[i]), ts[i]);
        }
        if (total != 0) TOKEN.safeTransfer(provider, total);
    }

    /// @notice Cancels a not-yet-started escrow for a full refund to the requestor; capacity is released. The
    /// requestor may cancel at any time; anyone may once the start window has passed (stale escrows cannot hold
    /// a provider's capacity). A cancel inside the window counts nothing; one after it counts as `cancelled` in the
    /// provider's reputation (it neither started nor declined in time).
    function cancel(Terms calldata t) external nonReentrant {
        _closeUnstarted(t, false);
    }

    /// @notice The provider declines a not-yet-started escrow: full refund to the requestor, capacity released, no
    /// reputation change (a requestor can create escrows a provider must refuse, so refusing must cost nothing).
    function decline(Terms calldata t) external nonReentrant {
        _closeUnstarted(t, true);
    }

    /// @notice The requestor stops a running escrow: the provider gets what it earned, the rest is refunded, and the
    /// escrow settles in this transaction (status Stopped).
    function stop(Terms calldata t) external nonReentrant {
        bytes32 id = _id(t);
        Record memory rec = _load(id);
        if (rec.status != ACTIVE) _revertStatus(id, rec, t.ratePerHour);
        if (msg.sender != t.requestor) revert NotRequestor(msg.sender, t.requestor);
        uint256 e = _earned(rec, t.ratePerHour);
        if (e == rec.deposited) revert AlreadyEnded(id, _u40(_end(rec.start, rec.deposited, t.ratePerHour)));
        uint256 toProvider = e - rec.withdrawn;
        uint256 refund = rec.deposited - e;
        _records[id] = _pack(rec.deposited, e, rec.start, STOPPED);
        emit Stopped(id, uint40(block.timestamp), toProvider, refund);
        // A stop counts against the provider only once the requestor paid the minimum prepaid period; before that
        // only the payment counts (stopping at once costs a requestor gas alone, so it must not move reputation).
        uint8 outcome = OUTCOME_PAID_ONLY;
        unchecked {
            // e < 2^96 and rate < 2^128, MIN_PREPAID_SECONDS < 2^64: neither product overflows
            if (e * 3600 >= uint256(t.ratePerHour) * MIN_PREPAID_SECONDS) outcome = OUTCOME_STOPPED;
        }
        REGISTRY.release(t.provider, t.resources, _rated(t, outcome), e);
        if (toProvider != 0) TOKEN.safeTransfer(t.provider, toProvider);
        TOKEN.safeTransfer(t.requestor, refund);
    }

    /// @notice Settles an ended escrow: pays the provider's remainder and refunds the requestor (nothing is left to
    /// refund when an escrow runs to its end). Anyone may call; never reverts for an ended open escrow.
    function finalize(Terms calldata t) external nonReentrant {
        bytes32 id = _id(t);
        Record memory rec = _load(id);
        if (rec.status != ACTIVE) _revertStatus(id, rec, t.ratePerHour);
        uint256 e = _earned(rec, t.ratePerHour);
        if (e != rec.deposited) revert NotEnded(id, _u40(_end(rec.start, rec.deposited, t.ratePerHour)));
        uint256 toProvider = e - rec.withdrawn;
        _records[id] = _pack(rec.deposited, rec.deposited, rec.start, COMPLETED);
        emit Finalized(id, msg.sender, toProvider, 0);
        REGISTRY.release(t.provider, t.resources, _rated(t, OUTCOME_COMPLETED), e);
        if (toProvider != 0) TOKEN.safeTransfer(t.provider, toProvider);
    }

    /// @notice The provider revokes an offer nonce so its signed offer can no longer be used.
    function revokeOffer(uint256 nonce) external {
        _useNonce(msg.sender, nonce);
        emit OfferRevoked(msg.sender, nonce);
    }

    // ------------------------------------------------------------------ views

    /// @notice The id an escrow with these terms has: keccak256(abi.encode(t)).
    function escrowId(Terms calldata t) external pure returns (bytes32) {
        return _id(t);
    }

    /// @notice Every figure of one escrow at the current block time.
    function getEscrow(Terms calldata t) external view returns (EscrowView memory v) {
        bytes32 id = _id(t);
        Record memory rec = _load(id);
        v.id = id;
        v.status = _status(rec, t.ratePerHour);
        v.deposited = rec.deposited;
        v.withdrawn = rec.withdrawn;
        if (rec.status != CREATED) v.start = rec.start;
        if (rec.status == ACTIVE) {
            v.earned = _earned(rec, t.ratePerHour);
            v.withdrawable = v.earned - rec.withdrawn;
            v.end = _u40(_end(rec.start, rec.deposited, t.ratePerHour));
        } else if (rec.status == COMPLETED) {
            v.earned = rec.deposited;
            v.end = _u40(_end(rec.start, rec.deposited, t.ratePerHour));
        } else if (rec.status == STOPPED) {
            v.earned = rec.withdrawn;
        }
        v.remaining = v.deposited - v.earned;
    }

    /// @notice Status now; Ended is derived (started and past its end, not yet finalized).
    function statusOf(Terms calldata t) external view returns (Status) {
        return _status(_load(_id(t)), t.ratePerHour);
    }

    /// @notice Until when the provider may start or decline before anyone may cancel (0 unless Created).
    function startDeadline(Terms calldata t) external view returns (uint40) {
        Record memory rec = _load(_id(t));
        if (rec.status != CREATED) return 0;
        return uint40(rec.start + START_WINDOW);
    }

    /// @notice LNQ wei earned by the provider so far (total, including what was withdrawn).
    function earned(Terms calldata t) external view returns (uint256) {
        Record memory rec = _load(_id(t));
        if (rec.status == ACTIVE) return _earned(rec, t.ratePerHour);
        if (rec.status == COMPLETED) return rec.deposited;
        if (rec.status == STOPPED) return rec.withdrawn;
        return 0;
    }

    /// @notice When the deposit runs out at the escrow's rate (0 if not started).
    function endOf(Terms calldata t) external view returns (uint40) {
        Record memory rec = _load(_id(t));
        if (rec.status != ACTIVE && rec.status != COMPLETED) return 0;
        return _u40(_end(rec.start, rec.deposited, t.ratePerHour));
    }

    /// @notice The stored slot of escrow `id` (`startTime` is the creation time while Created).
    function record(bytes32 id)
        external
        view
        returns (uint96 deposited, uint96 withdrawn, uint40 startTime, uint8 status)
    {
        Record memory rec = _load(id);
        return (rec.deposited, rec.withdrawn, rec.start, rec.status);
    }

    /// @notice The EIP-712 digest a provider signs for `o`.
    function offerDigest(Offer calldata o) public view returns (bytes32) {
        Resources calldata r = o.resources;
        bytes32 resourcesHash =
            keccak256(abi.encode(RESOURCES_TYPEHASH, r.cpuMillis, r.memoryMiB, r.storageGiB, r.gpuClass, r.gpuCount));
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    OFFER_TYPEHASH,
                    o.provider,
                    o.requestor,
                    resourcesHash,
                    o.ratePerHour,
                    o.minDuration,
                    o.maxDuration,
                    o.nonce,
                    o.deadline
                )
            )
        );
    }

    /// @notice Whether `provider`'s offer nonce was used or revoked.
    function isNonceUsed(address provider, uint256 nonce) external view returns (bool) {
        return _nonceBitmap[provider][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @notice The LNQ token.
    function token() external view returns (address) {
        return address(TOKEN);
    }

    /// @notice The ProviderRegistry.
    function registry() external view returns (address) {
        return address(REGISTRY);
    }

    /// @notice Minimum prepaid duration of every deposit, seconds.
    function minPrepaidSeconds() external view returns (uint64) {
        return MIN_PREPAID_SECONDS;
    }

    // ------------------------------------------------------------------ internals

    function _createAtRegistryPrice(
        address provider,
        Resources calldata r,
        uint256 deposit,
        uint128 maxRatePerHour,
        bytes32 salt
    ) internal returns (bytes32 id) {
        uint128 rate = REGISTRY.reserve(provider, r);
        if (rate > maxRatePerHour) revert RateAboveMax(rate, maxRatePerHour);
        id = _open(provider, r, rate, salt, deposit, bytes32(0), REGISTRY_CAP_HOURS);
    }

    function _createFromOffer(Offer calldata o, bytes calldata signature, uint256 deposit, bytes32 salt)
        internal
        returns (bytes32 id)
    {
        if (block.timestamp > o.deadline) revert OfferExpired(o.deadline);
        if (o.requestor != address(0) && o.requestor != msg.sender) revert OfferNotForCaller(msg.sender, o.requestor);
        if (o.ratePerHour == 0) revert ZeroRate();
        if (deposit > type(uint96).max) revert AmountTooLarge(deposit);
        uint256 duration = _ceilDiv(deposit * 3600, o.ratePerHour);
        if (duration < o.minDuration || duration > o.maxDuration) {
            revert DurationOutOfRange(duration, o.minDuration, o.maxDuration);
        }
        bytes32 digest = offerDigest(o);
        if (!SignatureChecker.isValidSignatureNow(o.provider, digest, signature)) revert BadSignature(o.provider);
        _useNonce(o.provider, o.nonce);
        emit OfferUsed(o.provider, o.nonce);
        REGISTRY.reserveAt(o.provider, o.resources);
        uint256 capHours = o.maxDuration / 3600;
        if (capHours > REGISTRY_CAP_HOURS) capHours = REGISTRY_CAP_HOURS;
        id = _open(o.provider, o.resources, o.ratePerHour, salt, deposit, digest, capHours);
    }

    /// @dev Records a new escrow and pulls the deposit from the caller. The terms are ABI-encoded once: the first
    /// nine words hash to the id, all eleven are the EscrowCreated data (terms, deposit, offerDigest).
    function _open(
        address provider,
        Resources calldata r,
        uint128 rate,
        bytes32 salt,
        uint256 deposit,
        bytes32 digest,
        uint256 capHours
    ) internal returns (bytes32 id) {
        if (deposit == 0) revert ZeroAmount();
        if (deposit > type(uint96).max) revert AmountTooLarge(deposit);
        _checkPrepaid(deposit, rate);
        bytes memory data = abi.encode(msg.sender, provider, r, rate, salt, deposit, digest);
        bytes32 topic = EscrowCreated.selector;
        assembly ("memory-safe") {
            id := keccak256(add(data, 0x20), 288)
        }
        if (_records[id] != 0) revert EscrowExists(id);
        _records[id] = _pack(deposit, 0, block.timestamp, CREATED) | (capHours << CAP_SHIFT);
        assembly ("memory-safe") {
            log4(add(data, 0x20), 352, topic, id, caller(), provider)
        }
        TOKEN.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @dev Marks what is withdrawable as withdrawn and returns it (0 if there is no Active record).
    function _takeEarned(bytes32 id, Terms calldata t) internal returns (uint256 amount) {
        uint256 word = _records[id];
        Record memory rec = _unpack(word);
        if (rec.status != ACTIVE) return 0;
        uint256 e = _earned(rec, t.ratePerHour);
        amount = e - rec.withdrawn;
        if (amount == 0) return 0;
        // withdrawn + amount = earned <= deposited < 2^96: no carry out of the withdrawn field.
        _records[id] = word + (amount << WITHDRAWN_SHIFT);
        emit Withdrawn(id, t.provider, amount);
    }

    /// @dev cancel (byProvider false) and decline (true): closes a Created escrow as Cancelled and refunds the
    /// whole deposit to the requestor.
    function _closeUnstarted(Terms calldata t, bool byProvider) internal {
        bytes32 id = _id(t);
        Record memory rec = _load(id);
        if (rec.status != CREATED) _revertStatus(id, rec, t.ratePerHour);
        uint8 outcome = OUTCOME_MOVED;
        if (byProvider) {
            if (msg.sender != t.provider) revert NotProvider(msg.sender, t.provider);
        } else if (block.timestamp >= rec.start + START_WINDOW) {
            // The provider neither started nor declined within the window: that, and only that, is `cancelled`.
            outcome = _rated(t, OUTCOME_CANCELLED);
        } else if (msg.sender != t.requestor) {
            revert StartWindowOpen(id, uint40(rec.start + START_WINDOW));
        }
        uint256 refund = rec.deposited;
        _records[id] = _pack(refund, 0, 0, CANCELLED);
        emit Cancelled(id, refund);
        REGISTRY.release(t.provider, t.resources, outcome, 0);
        TOKEN.safeTransfer(t.requestor, refund);
    }

    /// @dev An escrow the provider funded itself moves no reputation (the one self-dealing visible on chain).
    function _rated(Terms calldata t, uint8 outcome) internal pure returns (uint8) {
        return t.requestor == t.provider ? OUTCOME_MOVED : outcome;
    }

    function _permit(PermitSig calldata p) internal {
        // A front-run permit makes this call fail; the allowance it set is then already in place.
        try IERC20Permit(address(TOKEN)).permit(msg.sender, address(this), p.value, p.deadline, p.v, p.r, p.s) {}
            catch {}
    }

    function _useNonce(address provider, uint256 nonce) internal {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = _nonceBitmap[provider][nonce >> 8];
        if (bits & bit != 0) revert NonceUsed(provider, nonce);
        _nonceBitmap[provider][nonce >> 8] = bits | bit;
    }

    function _checkPrepaid(uint256 deposit, uint128 rate) internal view {
        if (rate == 0) revert ZeroRate();
        uint256 required = _ceilDiv(uint256(rate) * MIN_PREPAID_SECONDS, 3600);
        if (deposit < required) revert BelowMinPrepaid(deposit, required);
    }

    function _load(bytes32 id) internal view returns (Record memory) {
        return _unpack(_records[id]);
    }

    function _unpack(uint256 word) internal pure returns (Record memory) {
        return Record(
            uint96(word), uint96(word >> WITHDRAWN_SHIFT), uint40(word >> START_SHIFT), uint8(word >> STATUS_SHIFT)
        );
    }

    /// @dev Callers pass deposited and withdrawn < 2^96 and start < 2^40.
    function _pack(uint256 deposited, uint256 withdrawn, uint256 startTime, uint8 status)
        internal
        pure
        returns (uint256)
    {
        return deposited | (withdrawn << WITHDRAWN_SHIFT) | (startTime << START_SHIFT)
            | (uint256(status) << STATUS_SHIFT);
    }

    function _earned(Record memory rec, uint128 rate) internal view returns (uint256 e) {
        // Cumulative from start, floored; equal to deposited exactly from `end` on.
        e = uint256(rate) * (block.timestamp - rec.start) / 3600;
        if (e > rec.deposited) e = rec.deposited;
    }

    function _end(uint256 startTime, uint256 deposited, uint128 rate) internal pure returns (uint256) {
        return startTime + _ceilDiv(deposited * 3600, rate);
    }

    function _status(Record memory rec, uint128 rate) internal view returns (Status) {
        if (rec.status == ACTIVE && _earned(rec, rate) == rec.deposited) return Status.Ended;
        return Status(rec.status);
    }

    /// @dev Reverts with the status `statusOf` reports (Ended derived), or UnknownEscrow if there is no record.
    function _revertStatus(bytes32 id, Record memory rec, uint128 rate) internal view {
        if (rec.status == 0) revert UnknownEscrow(id);
        revert WrongStatus(id, _status(rec, rate));
    }

    /// @dev keccak256(abi.encode(t)) without re-encoding: Terms is static, so its calldata is its encoding. Terms
    /// with non-canonical (dirty) words hash to an id that does not exist, and reading their fields reverts.
    function _id(Terms calldata t) internal pure returns (bytes32 id) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, t, 288)
            id := keccak256(ptr, 288)
        }
    }

    function _ceilDiv(uint256 a, uint256 b) internal pure returns (uint256) {
        return Math.ceilDiv(a, b);
    }

    function _u40(uint256 x) internal pure returns (uint40) {
        return x > type(uint40).max ? type(uint40).max : uint40(x);
    }
}
