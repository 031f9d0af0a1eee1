// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Resources} from "./Types.sol";

/// @title IEscrow
/// @notice Prefunded per-second escrows in LNQ. An escrow is identified by the hash of its terms; callers pass
/// the terms as calldata. earned(t) = min(deposited, ratePerHour * (min(t, end) - start) / 3600), floored;
/// end = start + ceilDiv(deposited * 3600, ratePerHour). No admin key can move escrowed funds.
interface IEscrow {
    /// @notice The terms an escrow id commits to: id = keccak256(abi.encode(terms)).
    struct Terms {
        address requestor;
        address provider;
        Resources resources;
        uint128 ratePerHour;
        bytes32 salt;
    }

    /// @notice A provider's EIP-712 signed offer (domain "LinqEscrow", version "1"); requestor 0 = anyone.
    struct Offer {
        address provider;
        address requestor;
        Resources resources;
        uint128 ratePerHour;
        uint64 minDuration;
        uint64 maxDuration;
        uint256 nonce;
        uint64 deadline;
    }

    /// @notice An EIP-2612 permit for LNQ, spender = this escrow.
    struct PermitSig {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice Ended is derived (stored Active and now >= end); Completed = finalized after the end.
    enum Status {
        None,
        Created,
        Active,
        Ended,
        Cancelled,
        Stopped,
        Completed
    }

    /// @notice Everything about one escrow, amounts in LNQ wei. `end` is 0 until started and for Cancelled or
    /// Stopped escrows (the stop time is in the Stopped event).
    struct EscrowView {
        bytes32 id;
        Status status;
        uint256 deposited;
        uint256 earned;
        uint256 withdrawn;
        uint256 withdrawable;
        uint256 remaining;
        uint40 start;
        uint40 end;
    }

    // ----- errors -----
    /// @notice An escrow with these terms already exists; use another salt.
    error EscrowExists(bytes32 id);
    /// @notice No escrow with these terms.
    error UnknownEscrow(bytes32 id);
    /// @notice The escrow is in `status` (as statusOf reports it, Ended derived), which does not allow this call.
    error WrongStatus(bytes32 id, Status status);
    /// @notice Only the terms' requestor may call this.
    error NotRequestor(address caller, address requestor);
    /// @notice Only the terms' provider may call this.
    error NotProvider(address caller, address provider);
    /// @notice The amount must be greater than zero.
    error ZeroAmount();
    /// @notice The rate (from the registry or the offer) must be greater than zero.
    error ZeroRate();
    /// @notice The registry's current rate exceeds the caller's maximum.
    error RateAboveMax(uint128 ratePerHour, uint128 maxRatePerHour);
    /// @notice The deposit covers fewer than minPrepaidSeconds at the rate; `required` is the minimum deposit.
    error BelowMinPrepaid(uint256 deposit, uint256 required);
    /// @notice The amount does not fit the escrow's 96-bit accounting.
    error AmountTooLarge(uint256 amount);
    /// @notice Nothing is withdrawable now.
    error NothingToWithdraw(bytes32 id);
    /// @notice withdrawMany needs escrows of one provider; found `provider` where `expected` was.
    error ProviderMismatch(address expected, address provider);
    /// @notice withdrawMany needs at least one escrow.
    error EmptyBatch();
    /// @notice The escrow has not ended yet; finalize after `end`.
    error NotEnded(bytes32 id, uint40 end);
    /// @notice The escrow has ended; finalize it instead.
    error AlreadyEnded(bytes32 id, uint40 end);
    /// @notice The new provider must differ from the current one.
    error SameProvider(address provider);
    /// @notice The offer's deadline has passed.
    error OfferExpired(uint64 deadline);
    /// @notice The offer's nonce was used or revoked.
    error NonceUsed(address provider, uint256 nonce);
    /// @notice The offer is bound to another requestor.
    error OfferNotForCaller(address caller, address requestor);
    /// @notice The signature is not the provider's (EOA or ERC-1271).
    error BadSignature(address provider);
    /// @notice The duration bought by the deposit is outside the offer's [minDuration, maxDuration], or a top-up
    /// would take the whole deposit past the escrow's bound (`maxDuration` = that bound in seconds).
    error DurationOutOfRange(uint256 duration, uint64 minDuration, uint64 maxDuration);
    /// @notice Only the requestor may cancel before `startDeadline`; anyone may after it.
    error StartWindowOpen(bytes32 id, uint40 startDeadline);

    // ----- events -----
    event EscrowCreated(
        bytes32 indexed id,
        address indexed requestor,
        address indexed provider,
        Terms terms,
        uint256 deposit,
        bytes32 offerDigest
    );
    event ProviderChanged(bytes32 indexed oldId, bytes32 indexed newId, address indexed newProvider, Terms terms);
    event Started(bytes32 indexed id, uint40 start, uint40 end);
    event ToppedUp(bytes32 indexed id, address indexed from, uint256 amount, uint256 deposited);
    event Withdrawn(bytes32 indexed id, address indexed provider, uint256 amount);
    event Cancelled(bytes32 indexed id, uint256 refund);
    event Stopped(bytes32 indexed id, uint40 at, uint256 toProvider, uint256 refund);
    event Finalized(bytes32 indexed id, address indexed caller, uint256 toProvider, uint256 refund);
    event OfferUsed(address indexed provider, uint256 nonce);
    event OfferRevoked(address indexed provider, uint256 nonce);

    // ----- requestor / provider / anyone -----
    function create(address provider, Resources calldata r, uint256 deposit, uint128 maxRatePerHour, bytes32 salt)
        external
        returns (bytes32 id);
    function createWithPermit(
        address provider,
        Resources calldata r,
        uint256 deposit,
        uint128 maxRatePerHour,
        bytes32 salt,
        PermitSig calldata p
    ) external returns (bytes32 id);
    function createFromOffer(Offer calldata o, bytes calldata signature, uint256 deposit, bytes32 salt)
        external
        returns (bytes32 id);
    function createFromOfferWithPermit(
        Offer calldata o,
        bytes calldata signature,
        uint256 deposit,
        bytes32 salt,
        PermitSig calldata p
    ) external returns (bytes32 id);
    function topUp(Terms calldata t, uint256 amount) external;
    function changeProvider(Terms calldata t, address newProvider, uint128 maxRatePerHour)
        external
        returns (bytes32 newId);
    function start(Terms calldata t) external;
    function withdraw(Terms calldata t) external returns (uint256 amount);
    function withdrawMany(Terms[] calldata ts) external returns (uint256 total);
    function cancel(Terms calldata t) external;
    function decline(Terms calldata t) external;
    function stop(Terms calldata t) external;
    function finalize(Terms calldata t) external;
    function revokeOffer(uint256 nonce) external;

    // ----- views -----
    function escrowId(Terms calldata t) external pure returns (bytes32);
    function getEscrow(Terms calldata t) external view returns (EscrowView memory);
    function statusOf(Terms calldata t) external view returns (Status);
    function earned(Terms calldata t) external view returns (uint256);
    function endOf(Terms calldata t) external view returns (uint40);
    function startDeadline(Terms calldata t) external view returns (uint40);
    function record(bytes32 id)
        external
        view
        returns (uint96 deposited, uint96 withdrawn, uint40 startTime, uint8 status);
    function offerDigest(Offer calldata o) external view returns (bytes32);
    function isNonceUsed(address provider, uint256 nonce) external view returns (bool);
    function token() external view returns (address);
    function registry() external view returns (address);
    function minPrepaidSeconds() external view returns (uint64);
}
