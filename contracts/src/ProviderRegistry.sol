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
    /// @dev Used and total capacity, active flag and registration time in one slot (240 bits).
    struct Hot {
        uint32 usedCpu;
        uint32 usedMemory;
        uint32 usedStorage;
        uint32 totalCpu;
        uint32 totalMemory;
        uint32 totalStorage;
        bool active;
        uint40 registeredAt;
    }

    uint8 internal constant CPU = 0;
    uint8 internal constant MEMORY = 1;
    uint8 internal constant STORAGE = 2;
    uint8 internal constant GPU = 3;
    uint256 public constant MAX_GPU_CLASSES = 16;

    /// @inheritdoc IProviderRegistry
    address public immutable deployer;
    /// @inheritdoc IProviderRegistry
    address public escrow;

    address[] internal _providers;
    mapping(address provider => Hot) internal _hot;
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
        if (_hot[msg.sender].registeredAt == 0) revert NotRegistered(msg.sender);
        _;
    }

    constructor() {
        deployer = msg.sender;
    }

    /// @notice Binds the Escrow contract, once, by the deployer (right after deployment); nobody can change it later.
    function bindEscrow(address escrow_) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
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
        if (_hot[msg.sender].registeredAt != 0) revert AlreadyRegistered(msg.sender);
        _checkRegion(region);
        _hot[msg.sender] = Hot({
            usedCpu: 0,
            usedMemory: 0,
            usedStorage: 0,
            totalCpu: total.cpuMillis,
            totalMemory: total.memoryMiB,
            totalStorage: total.storageGiB,
            active: true,
            registeredAt: uint40(block.timestamp)
        });
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
        Hot memory h = _hot[msg.sender];
        if (total.cpuMillis < h.usedCpu) revert CapacityBelowUsed(CPU, total.cpuMillis, h.usedCpu);
        if (total.memoryMiB < h.usedMemory) revert CapacityBelowUsed(MEMORY, total.memoryMiB, h.usedMemory);
        if (total.storageGiB < h.usedStorage) revert CapacityBelowUsed(STORAGE, total.storageGiB, h.usedStorage);
        h.totalCpu = total.cpuMillis;
        h.totalMemory = total.memoryMiB;
        h.totalStorage = total.storageGiB;
        _hot[msg.sender] = h;
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
            uint16[] storage ids = _gpuClassIds[msg.sender];
            if (ids.length >= MAX_GPU_CLASSES) revert TooManyGpuClasses(MAX_GPU_CLASSES);
            ids.push(classId);
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

    /// @notice Sets the region (short ASCII string right-padded into bytes32).
    function updateRegion(bytes32 region) external onlyRegistered {
        _checkRegion(region);
        _region[msg.sender] = region;
        emit RegionUpdated(msg.sender, region);
    }

    /// @notice Stops taking new escrows; open escrows run on.
    function deactivate() external onlyRegistered {
        _hot[msg.sender].active = false;
        emit ProviderDeactivated(msg.sender);
    }

    /// @notice Takes new escrows again.
    function reactivate() external onlyRegistered {
        _hot[msg.sender].active = true;
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
    /// @param outcome 0 moved to another provider (no reputation change), 1 completed, 2 stopped early, 3 cancelled
    /// @param providerEarned LNQ wei the provider earned from this escrow in total
    function release(address provider, Resources calldata r, uint8 outcome, uint256 providerEarned)
        external
        onlyEscrow
    {
        if (outcome > 3) revert InvalidOutcome(outcome);
        Hot memory h = _hot[provider];
        // Checked: used >= every open reservation (invariant), so this never reverts for a real release.
        h.usedCpu -= r.cpuMillis;
        h.usedMemory -= r.memoryMiB;
        h.usedStorage -= r.storageGiB;
        _hot[provider] = h;
        if (r.gpuCount != 0) _gpu[provider][r.gpuClass].used -= r.gpuCount;
        if (outcome == 0) return;
        Reputation memory rep = _reputation[provider];
        // Saturating: reputation must never make a settlement revert.
        unchecked {
            if (outcome == 1 && rep.completed != type(uint32).max) rep.completed++;
            if (outcome == 2 && rep.stoppedEarly != type(uint32).max) rep.stoppedEarly++;
            if (outcome == 3 && rep.cancelled != type(uint32).max) rep.cancelled++;
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
        Hot memory h = _hot[provider];
        v.provider = provider;
        v.active = h.active;
        v.registeredAt = h.registeredAt;
        v.region = _region[provider];
        v.metaHash = _meta[provider];
        v.total = Capacity(h.totalCpu, h.totalMemory, h.totalStorage);
        v.used = Capacity(h.usedCpu, h.usedMemory, h.usedStorage);
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
        Hot memory h = _hot[provider];
        return Capacity(h.usedCpu, h.usedMemory, h.usedStorage);
    }

    /// @notice GPU class `classId` of `provider` (all zero if unknown).
    function gpuClass(address provider, uint16 classId) external view returns (GpuClass memory) {
        return _gpu[provider][classId];
    }

    /// @notice Rate for `r` at `provider`'s current prices, LNQ wei per hour.
    function quote(address provider, Resources calldata r) external view returns (uint128 ratePerHour) {
        if (_hot[provider].registeredAt == 0) revert NotRegistered(provider);
        return _quote(provider, r);
    }

    /// @notice Whether `provider` has a record.
    function isRegistered(address provider) external view returns (bool) {
        return _hot[provider].registeredAt != 0;
    }

    // ------------------------------------------------------------------ internals

    function _take(address provider, Resources calldata r) internal {
        Hot memory h = _hot[provider];
        if (h.registeredAt == 0) revert NotRegistered(provider);
        if (!h.active) revert ProviderInactive(provider);
        h.usedCpu = _add(CPU, h.usedCpu, r.cpuMillis, h.totalCpu);
        h.usedMemory = _add(MEMORY, h.usedMemory, r.memoryMiB, h.totalMemory);
        h.usedStorage = _add(STORAGE, h.usedStorage, r.storageGiB, h.totalStorage);
        _hot[provider] = h;
        if (r.gpuCount != 0) {
            GpuClass storage g = _gpu[provider][r.gpuClass];
            if (g.model == bytes32(0)) revert UnknownGpuClass(provider, r.gpuClass);
            g.used = _add(GPU, g.used, r.gpuCount, g.total);
        }
    }

    function _add(uint8 resource, uint32 used, uint32 amount, uint32 total) internal pure returns (uint32) {
        // used <= total always holds, so total - used cannot underflow.
        if (amount > total - used) revert InsufficientCapacity(resource, amount, total - used);
        return used + amount;
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
