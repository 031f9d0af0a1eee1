// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {Resources} from "./interfaces/Types.sol";

/// @title ProviderRegistry
/// @notice One record per provider wallet. Providers set capacity, prices (LNQ wei per unit-hour), region,
/// metadata hash and GPU classes; only the bound Escrow changes used capacity and reputation.
/// @dev The per-escrow hot path (reserve/release) touches one packed slot (`Hot`), the prices slot on reserve and
/// the reputation slot on release. Capacity can never be lowered below what is in use, so release cannot underflow.
contract ProviderRegistry is IProviderRegistry {
    /// @dev The hot word of a provider: used capacity (bits 0-95: cpu, memory, storage, 32 bits each), total
    /// capacity (bits 96-191, same order), active flag (bit 192) and registration time (bits 200-239). One slot is
    /// all that reserve/release read and write for capacity.
    uint256 internal constant M32 = 0xffffffff;
    uint256 internal constant TOTAL_SHIFT = 96;
    uint256 internal constant ACTIVE_BIT = 1 << 192;
    uint256 internal constant REGISTERED_SHIFT = 200;

    uint8 internal constant CPU = 0;
    uint8 internal constant MEMORY = 1;
    uint8 internal constant STORAGE = 2;
    uint8 internal constant GPU = 3;
    uint256 public constant MAX_GPU_CLASSES = 16;
    /// @notice Longest metadata document `publishMeta` accepts (bytes), which bounds what indexers read.
    uint256 public constant MAX_META_BYTES = 1024;

    address internal immutable DEPLOYER;
    /// @inheritdoc IProviderRegistry
    address public escrow;

    address[] internal _providers;
    mapping(address provider => uint256 word) internal _hot;
    mapping(address provider => BaseRanges) internal _prices;
    mapping(address provider => Reputation) internal _reputation;
    mapping(address provider => bytes32) internal _region;
    mapping(address provider => bytes32) internal _meta;
    mapping(address provider => uint16[]) internal _gpuClassIds;
    mapping(address provider => mapping(uint16 classId => GpuClass)) internal _gpu;

    modifier onlyEscrow() {
        if (msg.sender != escrow) revert NotEscrow(msg.sender);
        _;
    }

    modifier onlyRegistered() {
        if (_hot[msg.sender] >> REGISTERED_SHIFT == 0) revert NotRegistered(msg.sender);
        _;
    }

    constructor() {
        DEPLOYER = msg.sender;
    }

    /// @notice Binds the Escrow contract, once, by the deployer (right after deployment); nobody can change it later.
    function bindEscrow(address escrow_) external {
        if (msg.sender != DEPLOYER) revert NotDeployer(msg.sender);
        if (escrow != address(0)) revert EscrowAlreadyBound(escrow);
        if (escrow_ == address(0)) revert ZeroEscrow();
        escrow = escrow_;
        emit EscrowBound(escrow_);
    }

    // ------------------------------------------------------------------ provider actions

    /// @notice Registers the caller as a provider, active from now.
    /// @param total capacity offered (millicores, MiB, GiB)
    /// @param prices LNQ wei per unit-hour
    /// @param region short ASCII string right-padded into bytes32, e.g. "eu-west"
    /// @param metaHash digest of the off-chain metadata (IPFS CID digest or URL digest)
    function register(Capacity calldata total, BaseRanges calldata prices, bytes32 region, bytes32 metaHash)
        external
    {
        if (_hot[msg.sender] != 0) revert AlreadyRegistered(msg.sender);
        _checkRegion(region);
        _hot[msg.sender] = _totalBits(total) | ACTIVE_BIT | (block.timestamp << REGISTERED_SHIFT);
        _prices[msg.sender] = prices;
        _region[msg.sender] = region;
        if (metaHash != bytes32(0)) _meta[msg.sender] = metaHash;
        _providers.push(msg.sender);
        emit ProviderRegistered(msg.sender, total, prices, region, metaHash);
    }

    /// @notice Sets new prices; open escrows keep the rate they were created with.
    function updateBaseRanges(BaseRanges calldata prices) external onlyRegistered {
        _prices[msg.sender] = prices;
        emit BaseRangesUpdated(msg.sender, prices);
    }

    /// @notice Sets the total capacity; reverts CapacityBelowUsed if any resource would drop below its use.
    function updateCapacity(Capacity calldata total) external onlyRegistered {
        uint256 w = _hot[msg.sender];
        Capacity memory used = _usedOf(w);
        if (total.cpuMillis < used.cpuMillis) revert CapacityBelowUsed(CPU, total.cpuMillis, used.cpuMillis);
        if (total.memoryMiB < used.memoryMiB) revert CapacityBelowUsed(MEMORY, total.memoryMiB, used.memoryMiB);
        if (total.storageGiB < used.storageGiB) {
            revert CapacityBelowUsed(STORAGE, total.storageGiB, used.storageGiB);
        }
        uint256 totalMask = ((1 << 96) - 1) << TOTAL_SHIFT;
        _hot[msg.sender] = (w & ~totalMask) | _totalBits(total);
        emit CapacityUpdated(msg.sender, total);
    }

    /// @notice Adds or updates GPU class `classId`: model, total count (>= used) and LNQ wei per GPU-hour.
    function updateGpuClass(uint16 classId, bytes32 model, uint32 total, uint128 pricePerHour)
        external
        onlyRegistered
    {
        if (model == bytes32(0)) revert InvalidGpuModel(classId);
        GpuClass storage g = _gpu[msg.sender][classId];
        if (g.model == bytes32(0)) {
            if (_gpuClassIds[msg.sender].length >= MAX_GPU_CLASSES) revert TooManyGpuClasses(MAX_GPU_CLASSES);
            _gpuClassIds[msg.sender].push(classId);
        }
        if (total < g.used) revert CapacityBelowUsed(GPU, total, g.used);
        g.model = model;
        g.total = total;
        g.pricePerHour = pricePerHour;
        emit GpuClassUpdated(msg.sender, classId, model, total, pricePerHour);
    }

    /// @notice Sets the metadata hash.
    function updateMeta(bytes32 metaHash) external onlyRegistered {
        _meta[msg.sender] = metaHash;
        emit MetaUpdated(msg.sender, metaHash);
    }

    /// @notice Publishes a metadata document on chain: stores its keccak256 as the metadata hash and emits the
    /// document itself, so an indexer finds it from the chain alone (e.g. the gateway URL and TLS pin). The
    /// document lives only in the log (≈ 8 gas a byte), never in storage; at most MAX_META_BYTES.
    function publishMeta(bytes calldata meta) external onlyRegistered {
        if (meta.length == 0 || meta.length > MAX_META_BYTES) revert InvalidMeta(meta.length, MAX_META_BYTES);
        bytes32 metaHash = keccak256(meta);
        _meta[msg.sender] = metaHash;
        emit MetaPublished(msg.sender, metaHash, meta);
    }

    /// @notice Sets the region (short ASCII string right-padded into bytes32).
    function updateRegion(bytes32 region) external onlyRegistered {
        _checkRegion(region);
        _region[msg.sender] = region;
        emit RegionUpdated(msg.sender, region);
    }

    /// @notice Stops taking new escrows; open escrows run on.
    function deactivate() external onlyRegistered {
        _hot[msg.sender] &= ~ACTIVE_BIT;
        emit ProviderDeactivated(msg.sender);
    }

    /// @notice Takes new escrows again.
    function reactivate() external onlyRegistered {
        _hot[msg.sender] |= ACTIVE_BIT;
        emit ProviderReactivated(msg.sender);
    }

    // ------------------------------------------------------------------ escrow only

    /// @notice Reserves `r` on `provider` and returns the rate at the provider's current prices.
    function reserve(address provider, Resources calldata r) external onlyEscrow returns (uint128 ratePerHour) {
        _take(provider, r);
        ratePerHour = _quote(provider, r);
    }

    /// @notice Reserves `r` on `provider` for a signed offer (the rate comes from the offer).
    function reserveAt(address provider, Resources calldata r) external onlyEscrow {
        _take(provider, r);
    }

    /// @notice Releases `r` on `provider` and records the outcome.
    /// @param outcome 0 no reputation change (moved, cancelled by the requestor inside the start window, declined
    /// by the provider, or the provider's own escrow), 1 completed, 2 stopped early, 3 not answered within the start
    /// window (counted as `cancelled`), 4 stopped before the minimum prepaid period (only `totalEarned` counts)
    /// @param providerEarned LNQ wei the provider earned from this escrow in total
    function release(address provider, Resources calldata r, uint8 outcome, uint256 providerEarned)
        external
        onlyEscrow
    {
        if (outcome > 4) revert InvalidOutcome(outcome);
        uint256 w = _hot[provider];
        // used >= every open reservation (invariant), so these checks never fail for a real release; they keep a
        // borrow from crossing into the neighbouring field if that invariant were ever broken.
        if (r.cpuMillis > w & M32 || r.memoryMiB > (w >> 32) & M32 || r.storageGiB > (w >> 64) & M32) {
            revert InsufficientCapacity(CPU, r.cpuMillis, w & M32);
        }
        _hot[provider] = w - (uint256(r.cpuMillis) | (uint256(r.memoryMiB) << 32) | (uint256(r.storageGiB) << 64));
        if (r.gpuCount != 0) _gpu[provider][r.gpuClass].used -= r.gpuCount;
        if (outcome == 0) return;
        Reputation memory rep = _reputation[provider];
        // Saturating: reputation must never make a settlement revert.
        unchecked {
            if (outcome == 1 && rep.completed != type(uint32).max) ++rep.completed;
            if (outcome == 2 && rep.stoppedEarly != type(uint32).max) ++rep.stoppedEarly;
            if (outcome == 3 && rep.cancelled != type(uint32).max) ++rep.cancelled;
            uint256 sum = uint256(rep.totalEarned) + providerEarned;
            rep.totalEarned = sum > type(uint128).max ? type(uint128).max : uint128(sum);
        }
        _reputation[provider] = rep;
    }

    // ------------------------------------------------------------------ views

    /// @notice Number of registered providers (active or not).
    function providerCount() external view returns (uint256) {
        return _providers.length;
    }

    /// @notice Provider addresses in registration order, `limit` at most from `offset`.
    function providersPage(uint256 offset, uint256 limit) external view returns (address[] memory page) {
        uint256 n = _providers.length;
        if (offset >= n) return new address[](0);
        uint256 end = n - offset < limit ? n : offset + limit;
        page = new address[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _providers[i];
        }
    }

    /// @notice One provider's full record (zero values and active=false if unregistered).
    function getProvider(address provider) public view returns (ProviderView memory v) {
        uint256 w = _hot[provider];
        v.provider = provider;
        v.active = w & ACTIVE_BIT != 0;
        v.registeredAt = uint40(w >> REGISTERED_SHIFT);
        v.region = _region[provider];
        v.metaHash = _meta[provider];
        v.total = _usedOf(w >> TOTAL_SHIFT);
        v.used = _usedOf(w);
        v.prices = _prices[provider];
        v.reputation = _reputation[provider];
        v.gpuClassIds = _gpuClassIds[provider];
    }

    /// @notice Bulk read for indexers.
    function getProviders(address[] calldata providers) external view returns (ProviderView[] memory views) {
        views = new ProviderView[](providers.length);
        for (uint256 i = 0; i < providers.length; ++i) {
            views[i] = getProvider(providers[i]);
        }
    }

    /// @notice Capacity currently reserved by open escrows.
    function usedCapacity(address provider) external view returns (Capacity memory) {
        return _usedOf(_hot[provider]);
    }

    /// @notice GPU class `classId` of `provider` (all zero if unknown).
    function gpuClass(address provider, uint16 classId) external view returns (GpuClass memory) {
        return _gpu[provider][classId];
    }

    /// @notice Rate for `r` at `provider`'s current prices, LNQ wei per hour.
    function quote(address provider, Resources calldata r) external view returns (uint128 ratePerHour) {
        if (_hot[provider] >> REGISTERED_SHIFT == 0) revert NotRegistered(provider);
        return _quote(provider, r);
    }

    /// @notice Who deployed the registry (the only account that may bind the escrow).
    function deployer() external view returns (address) {
        return DEPLOYER;
    }

    /// @notice Whether `provider` has a record.
    function isRegistered(address provider) external view returns (bool) {
        return _hot[provider] >> REGISTERED_SHIFT != 0;
    }

    // ------------------------------------------------------------------ internals

    function _take(address provider, Resources calldata r) internal {
        uint256 w = _hot[provider];
        if (w >> REGISTERED_SHIFT == 0) revert NotRegistered(provider);
        if (w & ACTIVE_BIT == 0) revert ProviderInactive(provider);
        _fits(CPU, r.cpuMillis, w);
        _fits(MEMORY, r.memoryMiB, w >> 32);
        _fits(STORAGE, r.storageGiB, w >> 64);
        // Each used field stays <= its total < 2^32, so the additions never carry into the next field.
        _hot[provider] = w + (uint256(r.cpuMillis) | (uint256(r.memoryMiB) << 32) | (uint256(r.storageGiB) << 64));
        if (r.gpuCount != 0) {
            GpuClass storage g = _gpu[provider][r.gpuClass];
            if (g.model == bytes32(0)) revert UnknownGpuClass(provider, r.gpuClass);
            uint32 used = g.used;
            if (r.gpuCount > g.total - used) revert InsufficientCapacity(GPU, r.gpuCount, g.total - used);
            g.used = used + r.gpuCount;
        }
    }

    /// @dev Reverts unless `amount` fits in the free part of the field at the bottom of `w` (used) / `w >> 96` (total).
    function _fits(uint8 resource, uint256 amount, uint256 w) internal pure {
        uint256 free = ((w >> TOTAL_SHIFT) & M32) - (w & M32);
        if (amount > free) revert InsufficientCapacity(resource, amount, free);
    }

    function _totalBits(Capacity calldata total) internal pure returns (uint256) {
        return (uint256(total.cpuMillis) | (uint256(total.memoryMiB) << 32) | (uint256(total.storageGiB) << 64))
            << TOTAL_SHIFT;
    }

    /// @dev The capacity in the low 96 bits of `w` (used capacity; pass `w >> 96` for the total).
    function _usedOf(uint256 w) internal pure returns (Capacity memory) {
        return Capacity(uint32(w), uint32(w >> 32), uint32(w >> 64));
    }

    function _quote(address provider, Resources calldata r) internal view returns (uint128 ratePerHour) {
        BaseRanges memory p = _prices[provider];
        // Each product < 2^96 and there are at most four: the sum fits in uint128 without overflow checks.
        uint256 rate = uint256(r.cpuMillis) * p.cpuPerMilliHour + uint256(r.memoryMiB) * p.memoryPerMiBHour
            + uint256(r.storageGiB) * p.storagePerGiBHour;
        if (r.gpuCount != 0) {
            GpuClass storage g = _gpu[provider][r.gpuClass];
            if (g.model == bytes32(0)) revert UnknownGpuClass(provider, r.gpuClass);
            rate += uint256(r.gpuCount) * g.pricePerHour;
        }
        if (rate > type(uint128).max) rate = type(uint128).max;
        return uint128(rate);
    }

    function _checkRegion(bytes32 region) internal pure {
        if (region == bytes32(0) || region[0] == 0) revert InvalidRegion(region);
    }
}
